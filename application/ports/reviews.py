"""Persistence ports of the reviews context."""
from __future__ import annotations

from typing import Protocol

from application.ports.catalog import RatedProducts
from application.ports.repositories import Page, UnitOfWork
from domain.catalog import Rating
from domain.reviews import Review


class ReviewRepository(Protocol):
    """Reviews; one per (product, author): ``add`` raises AlreadyExists for a second. ``save``
    checks the version loaded (optimistic; ConcurrencyConflict)."""

    async def get(self, review_id: str) -> Review | None: ...
    async def lock(self, review_id: str) -> Review | None: ...
    async def by_author(self, product_id: str, author_id: str) -> Review | None: ...
    async def add(self, review: Review) -> None: ...
    async def save(self, review: Review) -> None: ...
    async def rating(self, product_id: str) -> Rating:
        """The visible reviews of the product, counted and summed as this transaction sees them."""
        ...
    async def page(self, product_id: str, *, include_hidden: bool, limit: int, cursor: str | None) -> Page:
        """The product's reviews, newest first by (created_at, id), keyset cursor."""
        ...


class Purchases(Protocol):
    """What a customer bought, read from their orders."""

    async def bought(self, owner_id: str, product_id: str) -> bool:
        """True when one of the owner's orders in a reviewable status (paid, not fully refunded)
        contains the product."""
        ...


class ReviewsUnitOfWork(UnitOfWork, Protocol):
    """What writing, editing, hiding and listing reviews use: the reviews, the buyer's orders,
    and the product whose row lock serialises its reviews and beside which its rating is kept."""

    reviews: ReviewRepository
    purchases: Purchases
    products: RatedProducts
