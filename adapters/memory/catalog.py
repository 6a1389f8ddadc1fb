"""Memory repositories of the catalog context: products (with their categories), tags and coupons."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from adapters.memory.session import MemorySession
from adapters.memory.table import DeletableTable, MemoryTable
from application.errors import AlreadyExists
from domain.catalog import Category, Coupon, Product, Rating, Tag


class MemoryProducts(MemoryTable):
    table = "products"

    async def get_by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        wanted = set(skus)
        return {p.sku: p for p in self._find_all(lambda p: p.sku in wanted)}

    lock_by_skus = get_by_skus

    async def add(self, product: Product) -> None:
        if await self.get_by_skus([product.sku]):
            raise AlreadyExists(f"sku {product.sku} exists", field="sku")
        self._insert(product.id, product)

    async def add_category(self, category: Category) -> None:
        self.session.write("categories", category.slug, category, new=True)

    async def untag(self, slug: str) -> list[str]:
        changed = []
        for product in self._find_all(lambda p: slug in p.tags):
            product.tags = tuple(t for t in product.tags if t != slug)
            product.version += 1
            self.session.write(self.table, product.id, product, new=False)
            changed.append(product.id)
        return changed

    async def set_rating(self, product_id: str, rating: Rating) -> None:
        product = self.session.read(self.table, product_id)
        if product is not None:
            product.rating = rating
            self.session.write(self.table, product_id, product, new=True)


class MemoryTags(DeletableTable):
    table = "tags"

    def _key(self, obj: Tag) -> str:
        return obj.slug

    async def all(self) -> list[Tag]:
        return sorted(self._find_all(lambda t: True), key=lambda t: t.slug)

    async def save(self, tag: Tag) -> None:
        self.session.write(self.table, tag.slug, tag, new=True)


class MemoryCoupons(MemoryTable):
    table = "coupons"

    def _key(self, obj: Coupon) -> str:
        return obj.code.upper()

    async def get(self, code: str) -> Coupon | None:
        return self.session.read(self.table, code.upper())

    lock = get

    async def add(self, coupon: Coupon) -> None:
        self._insert(coupon.code.upper(), coupon)


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {"products": MemoryProducts, "tags": MemoryTags,
                                                              "coupons": MemoryCoupons}
