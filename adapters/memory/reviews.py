"""Memory repositories of the reviews context: reviews, and what a customer bought (their orders)."""
from __future__ import annotations

from collections.abc import Callable

from adapters.memory.read_model import _page as newest_first
from adapters.memory.session import MemorySession
from adapters.memory.table import MemoryTable
from application.errors import AlreadyExists
from application.ports import Page
from domain.catalog import Rating
from domain.reviews import REVIEWABLE_ORDER_STATUSES, Review, rating_of


class MemoryReviews(MemoryTable):
    table = "reviews"

    async def by_author(self, product_id: str, author_id: str) -> Review | None:
        return self._find(lambda r: r.product_id == product_id and r.author_id == author_id)

    async def add(self, review: Review) -> None:
        if await self.by_author(review.product_id, review.author_id):
            raise AlreadyExists("this author has reviewed this product", product_id=review.product_id)
        self._insert(review.id, review)

    async def rating(self, product_id: str) -> Rating:
        return rating_of(self._find_all(lambda r: r.product_id == product_id))

    async def page(self, product_id: str, *, include_hidden: bool, limit: int, cursor: str | None) -> Page:
        rows = self._find_all(lambda r: r.product_id == product_id and (include_hidden or not r.hidden))
        return newest_first(rows, lambda r: r.created_at.isoformat(), limit, cursor)


class MemoryPurchases:
    def __init__(self, session: MemorySession) -> None:
        self.session = session

    async def bought(self, owner_id: str, product_id: str) -> bool:
        return bool(self.session.keys_where("orders", lambda o: (
            o.owner_id == owner_id and o.status in REVIEWABLE_ORDER_STATUSES
            and any(item.product_id == product_id for item in o.items))))


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {"reviews": MemoryReviews, "purchases": MemoryPurchases}
