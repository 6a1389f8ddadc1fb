"""Memory repositories of the catalog context: products (with their categories) and coupons."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from adapters.memory.session import MemorySession
from adapters.memory.table import MemoryTable
from application.errors import AlreadyExists
from domain.catalog import Category, Coupon, Product


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


class MemoryCoupons(MemoryTable):
    table = "coupons"

    def _key(self, obj: Coupon) -> str:
        return obj.code.upper()

    async def get(self, code: str) -> Coupon | None:
        return self.session.read(self.table, code.upper())

    lock = get

    async def add(self, coupon: Coupon) -> None:
        self._insert(coupon.code.upper(), coupon)


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {"products": MemoryProducts, "coupons": MemoryCoupons}
