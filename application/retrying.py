"""Repeating a read-modify-write that lost an optimistic race (a cart or a wishlist changed by two
tabs at once): the whole unit of work runs again on what the winner committed."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from application.errors import ConcurrencyConflict

T = TypeVar("T")


async def on_conflict(attempts: int, once: Callable[[], Awaitable[T]]) -> T:
    """``once()`` until it does not raise ConcurrencyConflict, at most ``attempts`` times (the last
    conflict is raised)."""
    for attempt in range(attempts):
        try:
            return await once()
        except ConcurrencyConflict:
            if attempt == attempts - 1:
                raise
    raise ValueError("attempts must be at least 1")
