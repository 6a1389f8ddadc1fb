"""Reviews: a buyer's stars (1 to 5) and words about a product, one per buyer and product.

A review an admin hid stays stored (its author still sees it) but leaves the product's rating.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from domain.catalog import Rating
from domain.errors import InvalidValue
from domain.orders import OrderStatus

MAX_REVIEW_BODY = 5000


def _check(rating: int, body: str) -> str:
    if type(rating) is not int or not 1 <= rating <= 5:
        raise InvalidValue("rating is a whole number from 1 to 5", field="rating")
    body = body.strip()
    if not body or len(body) > MAX_REVIEW_BODY:
        raise InvalidValue(f"a review needs a body of 1 to {MAX_REVIEW_BODY} characters", field="body")
    return body


@attrs.define
class Review:
    id: str
    product_id: str
    author_id: str
    author_name: str
    rating: int
    body: str
    created_at: datetime
    updated_at: datetime
    hidden: bool = False
    hidden_reason: str | None = None
    version: int = 0

    @classmethod
    def write(cls, *, id: str, product_id: str, author_id: str, author_name: str | None, rating: int, body: str,
              now: datetime) -> Review:
        body = _check(rating, body)
        return cls(id=id, product_id=product_id, author_id=author_id, author_name=(author_name or "").strip()
                   or "A customer", rating=rating, body=body, created_at=now, updated_at=now)

    def edit(self, *, rating: int | None, body: str | None, now: datetime) -> None:
        """The author's change: each given field replaces the current one."""
        self.body = _check(self.rating if rating is None else rating, self.body if body is None else body)
        self.rating = self.rating if rating is None else rating
        self._changed(now)

    def hide(self, reason: str | None, now: datetime) -> None:
        self.hidden, self.hidden_reason = True, (reason or "").strip() or None
        self._changed(now)

    def show(self, now: datetime) -> None:
        self.hidden, self.hidden_reason = False, None
        self._changed(now)

    def _changed(self, now: datetime) -> None:
        self.updated_at = now
        self.version += 1


def rating_of(reviews: Iterable[Review]) -> Rating:
    """The product's rating: its visible reviews only."""
    shown = [r.rating for r in reviews if not r.hidden]
    return Rating(len(shown), sum(shown))


#: An order whose buyer may review what it contains: paid, and not refunded in full.
REVIEWABLE_ORDER_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.COMPLETED,
                                       OrderStatus.PARTIALLY_REFUNDED})
