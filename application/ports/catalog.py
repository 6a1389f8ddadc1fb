"""Persistence ports of the catalog context: products (and their categories), tags, coupons."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from application.ports.repositories import UnitOfWork
from domain.catalog import Category, Coupon, Product, Rating, Tag


class ProductRepository(Protocol):
    """Products. ``lock_by_skus`` locks the rows until the unit of work ends (stock decisions)."""

    async def get(self, product_id: str) -> Product | None: ...
    async def get_by_skus(self, skus: Sequence[str]) -> dict[str, Product]: ...
    async def lock_by_skus(self, skus: Sequence[str]) -> dict[str, Product]: ...
    async def add(self, product: Product) -> None: ...
    async def save(self, product: Product) -> None: ...
    async def add_category(self, category: Category) -> None: ...
    async def untag(self, slug: str) -> list[str]:
        """Take the tag off every product carrying it (a change of each: its version goes up);
        returns their ids."""
        ...


class RatedProducts(Protocol):
    """What keeping ratings needs of the products: the row lock that serialises the reviews of one
    product, and the rating written beside the product (never by an edit of the product)."""

    async def get(self, product_id: str) -> Product | None: ...
    async def lock(self, product_id: str) -> Product | None: ...
    async def set_rating(self, product_id: str, rating: Rating) -> None: ...


class TagRepository(Protocol):
    """The tags products may carry, by slug; ``save`` creates or renames."""

    async def get(self, slug: str) -> Tag | None: ...
    async def all(self) -> list[Tag]:
        """Every tag, by slug."""
        ...
    async def save(self, tag: Tag) -> None: ...
    async def delete(self, slug: str) -> None: ...


class CouponRepository(Protocol):
    """Coupons by (upper-case) code; ``lock`` for counting a use atomically."""

    async def get(self, code: str) -> Coupon | None: ...
    async def lock(self, code: str) -> Coupon | None: ...
    async def add(self, coupon: Coupon) -> None: ...
    async def save(self, coupon: Coupon) -> None: ...


class ProductsUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that reads (or locks) products to price them: carts, checkouts, orders."""

    products: ProductRepository


class CatalogUnitOfWork(ProductsUnitOfWork, Protocol):
    """What the catalog's use cases use: products, tags and coupons."""

    coupons: CouponRepository
    tags: TagRepository
