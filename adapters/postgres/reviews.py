"""Postgres repositories of the reviews context (migration 0005): reviews, unique per (product,
author), and what a customer bought (read from their orders)."""
from __future__ import annotations

from collections.abc import Callable

from adapters.postgres.keyset import PagedRepository
from adapters.postgres.mapping import Table, fields_of
from adapters.postgres.session import PostgresSession
from application.errors import AlreadyExists
from application.ports import Page
from domain.catalog import Rating
from domain.reviews import REVIEWABLE_ORDER_STATUSES, Review

REVIEWS = Table("reviews", Review, "id", fields_of(Review), versioned=True)
_REVIEWABLE = sorted(status.value for status in REVIEWABLE_ORDER_STATUSES)


class PostgresReviews(PagedRepository):
    table = REVIEWS

    async def by_author(self, product_id: str, author_id: str) -> Review | None:
        return await self._first("t.product_id = %s AND t.author_id = %s", [product_id, author_id])

    async def add(self, review: Review) -> None:
        if not await self._insert(review):
            if await self.by_author(review.product_id, review.author_id):
                raise AlreadyExists("this author has reviewed this product", product_id=review.product_id)
            raise AlreadyExists(f"reviews {review.id} exists")

    async def rating(self, product_id: str) -> Rating:
        (row,) = await self.session.fetch("SELECT count(*) AS count, coalesce(sum(rating), 0) AS total FROM reviews "
                                          "WHERE product_id = %s AND NOT hidden", [product_id])
        return Rating(int(row["count"]), int(row["total"]))

    async def page(self, product_id: str, *, include_hidden: bool, limit: int, cursor: str | None) -> Page:
        where = ["t.product_id = %s"] + ([] if include_hidden else ["NOT t.hidden"])
        return await self._newest_first(where, [product_id], limit, cursor)


class PostgresPurchases:
    def __init__(self, session: PostgresSession) -> None:
        self.session = session

    async def bought(self, owner_id: str, product_id: str) -> bool:
        return bool(await self.session.fetch(
            "SELECT 1 FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.owner_id = %s "
            "AND i.product_id = %s AND o.status = ANY(%s) LIMIT 1", [owner_id, product_id, _REVIEWABLE],
            plain_read=True))


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"reviews": PostgresReviews,
                                                                "purchases": PostgresPurchases}
#: This context's tables, in foreign-key order.
TABLES = ("reviews",)
