"""Persistence ports of the wishlist context."""
from __future__ import annotations

from typing import Protocol

from application.ports.cart import CartUnitOfWork
from domain.wishlist import Wishlist


class WishlistRepository(Protocol):
    """One wishlist per owner id (a user's or a guest's). ``save`` checks the version loaded
    (optimistic; ConcurrencyConflict) and inserts a list never loaded (ConcurrencyConflict if
    another request created it first)."""

    async def get(self, owner_id: str) -> Wishlist | None: ...
    async def save(self, wishlist: Wishlist) -> None: ...
    async def delete(self, owner_id: str, version: int | None = None) -> None:
        """Delete the list; with ``version``, only that version (else ConcurrencyConflict)."""


class WishlistUnitOfWork(CartUnitOfWork, Protocol):
    """What the wishlist's use cases use: the list, the products it shows, and the cart an item
    moves to."""

    wishlists: WishlistRepository
