"""Persistence ports of the cart context."""
from __future__ import annotations

from typing import Protocol

from application.ports.catalog import ProductsUnitOfWork
from domain.cart import Cart


class CartRepository(Protocol):
    """One cart per owner id. ``save`` checks the version loaded (optimistic; ConcurrencyConflict),
    and inserts a cart never loaded (ConcurrencyConflict if another request created it first).
    ``delete`` with a ``version`` deletes only that version (ConcurrencyConflict if it changed)."""

    async def get(self, owner_id: str) -> Cart | None: ...
    async def save(self, cart: Cart) -> None: ...
    async def delete(self, owner_id: str, version: int | None = None) -> None: ...


class CartUnitOfWork(ProductsUnitOfWork, Protocol):
    """What the cart's use cases use: the cart, and the products it is priced with."""

    carts: CartRepository
