"""Use cases: catalog reads, admin writes (products, categories, tags, coupons), loading a catalog (demo data)."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from application import cache_keys, invalidation
from application.caching import CacheAside
from application.errors import AlreadyExists, ConcurrencyConflict, Forbidden, NotFound
from application.ports import IdGenerator, Page, ReadModel
from application.ports.catalog import CatalogUnitOfWork
from domain.catalog import Category, Coupon, Product, Tag, check_tags
from domain.errors import InvalidValue
from domain.money import Money
from domain.users import Principal


@invalidation.kind("tags")
def _tags_changed(changed: bool) -> invalidation.Stale:
    """The tag vocabulary (a product's own tags go with ``product_ids=``)."""
    return [cache_keys.TAGS] if changed else [], []


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only admins may change the catalog")


class Catalog:
    def __init__(self, uow: Callable[[], CatalogUnitOfWork], read_model: ReadModel, ids: IdGenerator | None = None,
                 cache: CacheAside | None = None) -> None:
        self.uow, self.read_model, self.ids, self.cache = uow, read_model, ids, cache

    async def _check_category(self, slug: str) -> None:
        if slug not in {c.slug for c in await self.read_model.list_categories()}:
            raise InvalidValue(f"unknown category {slug!r}; create it first", field="category")

    @staticmethod
    async def _check_tags(uow: CatalogUnitOfWork, tags: Iterable[str] | None) -> None:
        if tags is None:
            return
        known = {t.slug for t in await uow.tags.all()}
        unknown = [tag for tag in check_tags(tags) if tag not in known]
        if unknown:
            raise InvalidValue(f"unknown tags {', '.join(unknown)}; create them first", field="tags", tags=unknown)

    async def create_product(self, principal: Principal, *, sku: str, name: str, price: int, currency: str,
                             stock: int, category: str, active: bool = True, tags: Iterable[str] = (),
                             shippable: bool = True) -> Product:
        require_admin(principal)
        assert self.ids is not None
        await self._check_category(category)
        product = Product.create(self.ids.new_id("prd"), sku, name, Money(price, currency), stock, category, active,
                                 tags, shippable)
        async with self.uow() as uow:
            await self._check_tags(uow, product.tags)
            await uow.products.add(product)
            await uow.commit()
        await invalidation.products_changed(self.cache, [product.id])
        return product

    async def update_product(self, principal: Principal, product_id: str, *, version: int | None = None,
                             name: str | None = None, price: int | None = None, currency: str | None = None,
                             stock: int | None = None, category: str | None = None,
                             active: bool | None = None, tags: Iterable[str] | None = None,
                             shippable: bool | None = None) -> Product:
        """An admin's edit; ``version`` (optional) must be the one the admin last saw, else 409."""
        require_admin(principal)
        if category is not None:
            await self._check_category(category)
        async with self.uow() as uow:
            product = await uow.products.get(product_id)
            if product is None:
                raise NotFound("no such product", product_id=product_id)
            if version is not None and version != product.version:
                raise ConcurrencyConflict("the product changed since you loaded it; reload and retry",
                                          product_id=product_id, version=product.version)
            new_price = None
            if price is not None or currency is not None:
                new_price = Money(product.price.amount if price is None else price,
                                  currency or product.price.currency)
            await self._check_tags(uow, tags)
            product.revise(name=name, price=new_price, stock=stock, category=category, active=active, tags=tags,
                           shippable=shippable)
            await uow.products.save(product)
            await uow.commit()
        await invalidation.products_changed(self.cache, [product.id])
        return product

    async def create_category(self, principal: Principal, slug: str, name: str) -> Category:
        require_admin(principal)
        if slug in {c.slug for c in await self.read_model.list_categories()}:
            raise AlreadyExists(f"category {slug} exists", field="slug")
        category = Category(slug, name.strip())
        async with self.uow() as uow:
            await uow.products.add_category(category)
            await uow.commit()
        await invalidation.categories_changed(self.cache)
        return category

    async def put_tag(self, principal: Principal, slug: str, name: str) -> Tag:
        """Create a tag, or rename it (products carry slugs: they are unchanged)."""
        require_admin(principal)
        tag = Tag.create(slug, name)
        async with self.uow() as uow:
            await uow.tags.save(tag)
            await uow.commit()
        await invalidation.changed(self.cache, tags=True)
        return tag

    async def delete_tag(self, principal: Principal, slug: str) -> None:
        """Delete a tag and take it off every product that carried it."""
        require_admin(principal)
        async with self.uow() as uow:
            if await uow.tags.get(slug) is None:
                raise NotFound("no such tag", tag=slug)
            untagged = await uow.products.untag(slug)
            await uow.tags.delete(slug)
            await uow.commit()
        await invalidation.changed(self.cache, tags=True, product_ids=untagged)

    async def tags(self) -> list[Tag]:
        async with self.uow() as uow:
            return await uow.tags.all()

    async def create_coupon(self, principal: Principal, coupon: Coupon) -> Coupon:
        require_admin(principal)
        async with self.uow() as uow:
            await uow.coupons.add(coupon)
            await uow.commit()
        return coupon

    async def product(self, product_id: str, include_inactive: bool = False) -> Product:
        async with self.uow() as uow:
            product = await uow.products.get(product_id)
        if product is None or (not product.active and not include_inactive):
            raise NotFound("no such product", product_id=product_id)
        return product

    async def products(self, *, category: str | None, search: str | None, include_inactive: bool,
                       limit: int, cursor: str | None, tag: str | None = None) -> Page:
        return await self.read_model.list_products(category=category, search=search,
                                                   include_inactive=include_inactive, limit=limit, cursor=cursor,
                                                   tag=tag)

    async def categories(self) -> list[Category]:
        return await self.read_model.list_categories()

    async def seed(self, categories: list[Category], products: list[Product], coupons: list[Coupon],
                   tags: Iterable[Tag] = ()) -> int:
        """Add whatever of the given catalog is missing (idempotent: safe on every start)."""
        added = 0
        async with self.uow() as uow:
            known = {c.slug for c in await self.read_model.list_categories()}
            for category in categories:
                if category.slug not in known:
                    await uow.products.add_category(category)
            known_tags = {t.slug for t in await uow.tags.all()}
            for tag in tags:
                if tag.slug not in known_tags:
                    await uow.tags.save(tag)
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
