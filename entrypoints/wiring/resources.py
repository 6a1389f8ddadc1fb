"""Resource helpers: what the configuration does not select is never opened.

``container.start`` initialises every ``providers.Resource`` of the container; these wrap the
adapters' async generators so that a Resource the configuration turns off (no ``DATABASE_URL``,
no ``REDIS_URL``) yields None instead of opening a pool or a client.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any


async def opened(enabled: Any, open: Callable[..., AsyncIterator[Any]], *args: Any, **kwargs: Any,
                 ) -> AsyncIterator[Any]:
    """``open(*args, **kwargs)``'s value (an async generator: a pool, a client) while the app
    runs, or None when not ``enabled``."""
    if not enabled:
        yield None
        return
    async with asynccontextmanager(open)(*args, **kwargs) as value:
        yield value


def is_(value: Any, expected: Any) -> bool:
    """For a Resource's ``enabled``: ``providers.Callable(is_, config.value_cache, "tiered")``."""
    return value == expected
