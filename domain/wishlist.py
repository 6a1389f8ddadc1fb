"""Wishlist: the products a user (or a guest) keeps an eye on, one list per owner.

Items hold skus only: the price and availability shown are always today's, read when the list is.
"""
from __future__ import annotations

from datetime import datetime

import attrs

from domain.errors import InvalidValue

MAX_WISHLIST_ITEMS = 100


@attrs.frozen
class WishlistItem:
    sku: str
    added_at: datetime


@attrs.define
class Wishlist:
    """``version`` goes up on every change (optimistic concurrency in the repositories)."""

    owner_id: str
    updated_at: datetime
    items: list[WishlistItem] = attrs.field(factory=list)
    version: int = 0

    @classmethod
    def empty(cls, owner_id: str, now: datetime) -> Wishlist:
        return cls(owner_id=owner_id, updated_at=now)

    def holds(self, sku: str) -> bool:
        return any(item.sku == sku for item in self.items)

    def add(self, sku: str, now: datetime) -> bool:
        """Keep ``sku`` (already kept: nothing changes). True when it was added."""
        if self.holds(sku):
            return False
        if len(self.items) >= MAX_WISHLIST_ITEMS:
            raise InvalidValue(f"a wishlist holds at most {MAX_WISHLIST_ITEMS} items; remove one first", field="sku")
        self.items.append(WishlistItem(sku, now))
        self._changed(now)
        return True

    def remove(self, sku: str, now: datetime) -> None:
        if not self.holds(sku):
            raise InvalidValue(f"{sku} is not in the wishlist", field="sku", sku=sku)
        self.items = [item for item in self.items if item.sku != sku]
        self._changed(now)

    def merge(self, other: Wishlist, now: datetime) -> list[str]:
        """Take ``other``'s items (a guest's list) in; returns the skus left out for want of room."""
        left_out, added = [], 0
        for item in other.items:
            if self.holds(item.sku):
                continue
            if len(self.items) >= MAX_WISHLIST_ITEMS:
                left_out.append(item.sku)
                continue
            self.items.append(item)
            added += 1
        if added:
            self._changed(now)
        return left_out

    def _changed(self, now: datetime) -> None:
        self.updated_at = now
        self.version += 1
