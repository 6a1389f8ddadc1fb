"""Use cases: catalog reads, and loading a catalog (demo data, admin seeding)."""
from __future__ import annotations

from application.errors import NotFound
from application.ports import Page, ReadModel, UnitOfWorkFactory
from domain.catalog import Category, Coupon, Product


class Catalog:
    def __init__(self, uow: UnitOfWorkFactory, read_model: ReadModel) -> None:
        self.uow, self.read_model = uow, read_model

    async def product(self, product_id: str, include_inactive: bool = False) -> Product:
        async with self.uow() as uow:
            product = await uow.products.get(product_id)
        if product is None or (not product.active and not include_inactive):
            raise NotFound("no such product", product_id=product_id)
        return product

    async def products(self, *, category: str | None, search: str | None, include_inactive: bool,
                       limit: int, cursor: str | None) -> Page:
        return await self.read_model.list_products(category=category, search=search,
                                                   include_inactive=include_inactive, limit=limit, cursor=cursor)

    async def categories(self) -> list[Category]:
        return await self.read_model.list_categories()

    async def seed(self, categories: list[Category], products: list[Product], coupons: list[Coupon]) -> int:
        """Add whatever of the given catalog is missing (idempotent: safe on every start)."""
        added = 0
        async with self.uow() as uow:
            known = {c.slug for c in await self.read_model.list_categories()}
            for category in categories:
                if category.slug not in known:
                    await uow.products.add_category(category)
            existing = await uow.products.get_by_skus([p.sku for p in products])
            for product in products:
                if product.sku not in existing:
                    await uow.products.add(product)
                    added += 1
            for coupon in coupons:
                if await uow.coupons.get(coupon.code) is None:
                    await uow.coupons.add(coupon)
            await uow.commit()
        return added
