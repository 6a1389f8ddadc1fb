"""Postgres repositories of the catalog context: products (unique sku), categories, coupons."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from adapters.postgres.mapping import Table, fields_of
from adapters.postgres.repo_base import Repository
from adapters.postgres.session import PostgresSession
from application.errors import AlreadyExists
from domain.catalog import Category, Coupon, CouponKind, Product
from domain.money import Money


def _product(values: dict[str, Any]) -> Product:
    values["price"] = Money(values["price"], values.pop("currency"))
    return Product(**values)


CATEGORIES = Table("categories", Category, "slug", fields_of(Category))
PRODUCTS = Table("products", Product, "id", (*fields_of(Product, skip=("price",)), "price", "currency"),
                 versioned=True, encoders={"price": lambda p: p.price.amount, "currency": lambda p: p.price.currency},
                 build=_product)
COUPONS = Table("coupons", Coupon, "code", fields_of(Coupon), {"kind": CouponKind}, key_expr="code_key")


class PostgresProducts(Repository):
    """Products (unique sku) and categories."""

    table = PRODUCTS

    async def get_by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        if not skus:
            return {}
        return {p.sku: p for p in await self._select("sku = ANY(%s)", [list(skus)])}

    async def lock_by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        """Locks in sku order, so two checkouts of the same products cannot deadlock."""
        if not skus:
            return {}
        found = await self._select("sku = ANY(%s)", [sorted(set(skus))], order="sku", lock=True)
        return {p.sku: p for p in found}

    async def add(self, product: Product) -> None:
        if not await self._insert(product):
            if await self.get_by_skus([product.sku]):
                raise AlreadyExists(f"sku {product.sku} exists", field="sku")
            raise AlreadyExists(f"products {product.id} exists")

    async def add_category(self, category: Category) -> None:
        """Creates or renames the category (as the memory adapter does)."""
        await self.session.execute("INSERT INTO categories (slug, name) VALUES (%s, %s) "
                                   "ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name",
                                   [category.slug, category.name])


class PostgresCoupons(Repository):
    """Coupons keyed by their upper-cased code."""

    table = COUPONS

    def _param(self, key: str) -> str:
        return key.upper()

    async def add(self, coupon: Coupon) -> None:
        if not await self._insert(coupon):
            raise AlreadyExists(f"coupons {coupon.code.upper()} exists")


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"products": PostgresProducts,
                                                                "coupons": PostgresCoupons}
#: This context's tables, in foreign-key order.
TABLES = ("categories", "products", "coupons")
