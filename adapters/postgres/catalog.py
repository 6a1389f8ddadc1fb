"""Postgres repositories of the catalog context: products (unique sku; tags as a text[]; the rating the
reviews keep beside each, migration 0005), categories, tags, coupons."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from adapters.postgres.mapping import Table, fields_of
from adapters.postgres.repo_base import Repository
from adapters.postgres.session import PostgresSession
from application.errors import AlreadyExists
from domain.catalog import Category, Coupon, CouponKind, Product, Rating, Tag
from domain.money import Money


def _product(values: dict[str, Any]) -> Product:
    values["price"] = Money(values["price"], values.pop("currency"))
    values["rating"] = Rating(values.pop("rating_count"), values.pop("rating_total"))
    return Product(**values)


CATEGORIES = Table("categories", Category, "slug", fields_of(Category))
#: The rating is read with the product and written only by ``set_rating``: an edit of the product
#: (``save``) never writes it back, so a review committed meanwhile is never undone.
PRODUCTS = Table("products", Product, "id", (*fields_of(Product, skip=("price", "rating")), "price", "currency"),
                 versioned=True, encoders={"price": lambda p: p.price.amount, "currency": lambda p: p.price.currency,
                                           "tags": lambda p: list(p.tags)},
                 extras={"rating_count": "t.rating_count", "rating_total": "t.rating_total"}, build=_product)
TAGS = Table("tags", Tag, "slug", fields_of(Tag))
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

    async def untag(self, slug: str) -> list[str]:
        rows = await self.session.fetch("UPDATE products SET tags = array_remove(tags, %s), version = version + 1 "
                                        "WHERE tags @> ARRAY[%s]::text[] RETURNING id", [slug, slug])
        return [row["id"] for row in rows]

    async def set_rating(self, product_id: str, rating: Rating) -> None:
        await self.session.execute("UPDATE products SET rating_count = %s, rating_total = %s WHERE id = %s",
                                   [rating.count, rating.total, product_id])
        loaded = self.session.cached(self.table, product_id)
        if loaded is not None:
            loaded.rating = rating


class PostgresTags(Repository):
    """Tags by slug; ``save`` creates or renames."""

    table = TAGS

    async def all(self) -> list[Tag]:
        return await self._select("true", [], order="t.slug")

    async def save(self, tag: Tag) -> None:
        await self.session.execute("INSERT INTO tags (slug, name) VALUES (%s, %s) "
                                   "ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name", [tag.slug, tag.name])
        self.session.adopt(self.table, tag.slug, tag)

    async def delete(self, slug: str) -> None:
        await self.session.execute("DELETE FROM tags WHERE slug = %s", [slug])


class PostgresCoupons(Repository):
    """Coupons keyed by their upper-cased code."""

    table = COUPONS

    def _param(self, key: str) -> str:
        return key.upper()

    async def add(self, coupon: Coupon) -> None:
        if not await self._insert(coupon):
            raise AlreadyExists(f"coupons {coupon.code.upper()} exists")


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"products": PostgresProducts,
                                                                "tags": PostgresTags,
                                                                "coupons": PostgresCoupons}
#: This context's tables, in foreign-key order.
TABLES = ("categories", "tags", "products", "coupons")
