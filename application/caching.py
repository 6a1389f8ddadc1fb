"""Cache-aside with single-flight loads, stale-fill protection and fail-soft behaviour.

Values are opaque bytes (the HTTP layer caches rendered bodies). Every key has a generation
counter ``{key}:gen``; ``invalidate`` deletes the key and bumps its generation, and a fill only
stores its value if the generation it read before loading is unchanged, so a load that raced an
invalidation never writes stale data back. Pattern invalidations bump a shared epoch the same way.
If the cache backend fails, reads go to the origin and nothing fails (counted by the caller's hooks).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from application.ports import Cache

log = logging.getLogger(__name__)
EPOCH = "epoch"


class CacheAside:
    def __init__(self, cache: Cache, on_result: Callable[[str, str], None] | None = None,
                 on_error: Callable[[str], None] | None = None, control: Cache | None = None) -> None:
        self.cache = cache
        #: where generation counters live: never an in-process tier (they must be seen at once)
        self.control = control or cache
        self._inflight: dict[str, asyncio.Future] = {}
        self._on_result = on_result or (lambda namespace, result: None)
        self._on_error = on_error or (lambda operation: None)

    async def _safe(self, operation: str, call: Awaitable):
        try:
            return await call
        except Exception:  # the cache is optional: log, count, go to the origin
            self._on_error(operation)
            log.warning("cache %s failed; serving from origin", operation, exc_info=True)
            return None

    async def _generation(self, key: str) -> bytes:
        gens = await self._safe("get", self._get_many(f"{key}:gen", EPOCH))
        return b"|".join(g or b"0" for g in gens) if gens else b"?"

    async def _get_many(self, *keys: str) -> list[bytes | None]:
        return [await self.control.get(k) for k in keys]

    async def get(self, key: str, ttl: float, load: Callable[[], Awaitable[bytes]],
                  namespace: str = "default") -> bytes:
        hit = await self._safe("get", self.cache.get(key))
        if hit is not None:
            self._on_result(namespace, "hit")
            return hit
        self._on_result(namespace, "miss")
        pending = self._inflight.get(key)
        if pending is not None:  # one origin load per hot key in this process
            return await asyncio.shield(pending)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            before = await self._generation(key)
            value = await load()
            if before != b"?" and await self._generation(key) == before:
                await self._safe("set", self.cache.set(key, value, ttl))
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            self._inflight.pop(key, None)

    async def invalidate(self, *keys: str, patterns: tuple[str, ...] = ()) -> None:
        for key in keys:
            await self._safe("incr", self.control.incr(f"{key}:gen"))
        if patterns:
            await self._safe("incr", self.control.incr(EPOCH))
        if keys:
            await self._safe("delete", self.cache.delete(*keys))
        for pattern in patterns:
            await self._safe("delete", self.cache.delete_pattern(pattern))
