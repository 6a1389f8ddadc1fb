"""Cache-aside with single-flight loads, stale-fill protection and fail-soft behaviour.

Values are opaque bytes (the HTTP layer caches rendered bodies).

- A single key (an order's detail) has a generation counter ``{key}:gen``: ``invalidate`` deletes
  the key and bumps it, and a fill stores its value only if the generation it read before loading
  is unchanged, checked and written in one atomic step (``Cache.set_if_unchanged``, a Lua script
  on Redis), so a load that raced an invalidation never writes stale data back.
- A group of keys (one owner's order lists, with every filter and page) has a version
  ``{group}:ver`` that is part of each member's key: invalidating the group is one increment, and
  a fill that raced it lands under the old version, which nobody reads again (it expires by TTL).
  No keyspace scan, however many keys a group has.

Generations are read from ``control`` (Redis itself, never an in-process tier: the fill check
needs the value of this instant). Group versions are read from ``cache``, like the entries they
name: an in-process tier may hold one, and drops it when the group is invalidated (here at once,
elsewhere when the announcement arrives), so a list is never staler than an entry. Both are
bumped through ``cache.invalidate``: ``control`` must be where ``cache`` keeps its counters (the
same cache, or the shared tier behind an in-process one, whose ``incr``/``invalidate`` go
straight to it).
If the cache backend fails, reads go to the origin and nothing fails (counted by the caller's hooks).

Refresh-ahead: where the cache tells a hit that its entry is near its end (an in-process tier's
``due``), ``peek`` leaves the entry's key in ``due`` and the caller, having answered from the hit,
hands ``refresh`` the load: the entry is loaded again and stored in the background, exactly as a
miss would (generation read first, stored only if unchanged; one load per key in this process,
shared with any miss meanwhile), so the readers of a popular entry do not wait on its expiry.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from application.ports import Cache, Clock, IdGenerator
from application.ports.caching import CachingUnitOfWork, InvalidationJournal, StagedInvalidation
from domain.errors import Failure

log = logging.getLogger(__name__)
_UNKNOWN = object()


class CacheAside:
    def __init__(self, cache: Cache, on_result: Callable[[str, str], None] | None = None,
                 on_error: Callable[[str], None] | None = None, control: Cache | None = None,
                 journaled: bool = False, ids: IdGenerator | None = None, clock: Clock | None = None) -> None:
        self.cache = cache
        #: the cache can lose an invalidation (Redis): stage each in the journal, with its commit
        self.journaled, self.ids, self.clock = journaled and ids is not None and clock is not None, ids, clock
        #: where generation counters live: never an in-process tier (they must be seen at once)
        self.control = control or cache
        self._inflight: dict[str, asyncio.Future] = {}
        self._on_result = on_result or (lambda namespace, result: None)
        self._on_error = on_error or (lambda operation: None)
        self._peek: Callable[..., bytes | None] | None = getattr(cache, "peek", None)
        #: a cache that marks the hits due for a refill (``due``): an in-process tier
        self._tier = cache if hasattr(cache, "due") else None
        #: the (versioned) key of the entry the last ``peek`` found due; its caller reads it at once
        self.due: str | None = None
        self._refills: set[asyncio.Task] = set()
        #: ``get_with_counter(key, counter) -> (value, counter value or None)``: an entry and a counter
        #: read together from ``control`` (one round trip on Redis; the counter never from a local
        #: tier). Used only where the cache reads its counters from ``control`` itself.
        with_counter = getattr(cache, "get_with_counter", None)
        self._with_counter = with_counter if control is None or control is cache or \
            getattr(cache, "shared", None) is control else None

    async def _safe(self, operation: str, call: Awaitable):
        try:
            return await call
        except Exception:  # the cache is optional: log, count, go to the origin
            self._on_error(operation)
            log.warning("cache %s failed; serving from origin", operation, exc_info=True)
            return None

    async def _counter(self, name: str, source: Cache | None = None):
        """The counter's value (b"0" when unset) from ``source`` (default ``control``), or _UNKNOWN
        when the backend failed."""
        try:
            return await (source or self.control).get(name) or b"0"
        except Exception:  # noqa: BLE001 - same policy as _safe
            self._on_error("get")
            log.warning("cache counter read failed; serving from origin", exc_info=True)
            return _UNKNOWN

    def peek(self, key: str, namespace: str = "default", group: str | None = None) -> bytes | None:
        """A hit the cache can answer at once (an in-process tier's), counted as a hit; else None,
        and the caller goes through ``get``. Plain function: the hottest path costs no coroutine."""
        peek = self._peek
        if peek is None:
            return None
        if group is not None:
            version = peek(f"{group}:ver", b"0")  # a group never invalidated has version 0
            if version is None:
                return None
            key = f"{key}#v{version.decode()}"
        hit = peek(key)
        tier = self._tier
        if tier is not None:  # this entry's mark alone (never the group version's)
            due, tier.due = tier.due, None
            self.due = key if due == key and hit is not None else None
        if hit is not None:
            self._on_result(namespace, "hit")
        return hit

    def refresh(self, key: str, ttl: float | Callable[[], float], load: Callable[[], Awaitable[bytes]],
                namespace: str = "default", group: str | None = None) -> None:
        """Load ``key`` (``due``, as ``peek`` left it: versioned for a group's member) again and
        store it, in the background; nothing when a load of it is already in flight here."""
        if self.due == key:
            self.due = None
        if key in self._inflight:
            return
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        task = asyncio.get_running_loop().create_task(self._refill(key, ttl, load, namespace, group, future))
        self._refills.add(task)
        task.add_done_callback(self._refills.discard)

    async def _refill(self, key, ttl, load, namespace, group, future: asyncio.Future) -> None:
        try:
            before = _UNKNOWN if group is not None else await self._counter(f"{key}:gen")
            value = await self._store(key, ttl, await load(), group, before)
        except Exception as exc:  # noqa: BLE001 - the entry stays until its TTL; a miss loads it then
            if isinstance(exc, Failure):  # the origin's answer changed (gone, say): the miss will tell its reader
                log.info("a cache entry was not refreshed ahead of its expiry: %s", exc.message)
            else:
                self._on_error("refresh")
                log.warning("refreshing a cache entry ahead of its expiry failed", exc_info=True)
            future.set_exception(exc)
            future.exception()  # mark retrieved: a miss that waited on it re-raises it itself
        else:
            self._on_result(namespace, "refresh")
            future.set_result(value)
        finally:
            self._inflight.pop(key, None)

    async def drain(self) -> None:
        """Wait for the refills started in the background (tests, shutdown)."""
        while self._refills:
            await asyncio.gather(*self._refills, return_exceptions=True)

    async def _store(self, key: str, ttl: float | Callable[[], float], value: bytes, group: str | None,
                     before) -> bytes:
        if callable(ttl):
            ttl = ttl()
        if ttl <= 0:  # decided by the value: not kept
            pass
        elif group is not None:  # a version bump meanwhile leaves this under a key nobody reads
            await self._safe("set", self.cache.set(key, value, ttl))
        elif before is not _UNKNOWN:  # stored only if no invalidation came meanwhile, atomically
            await self._safe("set", self.cache.set_if_unchanged(key, value, ttl, f"{key}:gen", before))
        return value

    async def get(self, key: str, ttl: float | Callable[[], float], load: Callable[[], Awaitable[bytes]],
                  namespace: str = "default", group: str | None = None) -> bytes:
        """``ttl`` may be a callable, read once the value is loaded (a TTL that depends on it). A TTL
        of zero or less means uncached: straight to the origin, no round trip to the cache at all."""
        if not callable(ttl) and ttl <= 0:
            return await load()
        if group is not None:  # read like the entries (an in-process tier may hold it): same staleness bound
            version = await self._counter(f"{group}:ver", self.cache)
            if version is _UNKNOWN:
                return await load()
            key = f"{key}#v{version.decode()}"
        before = _UNKNOWN
        try:
            if group is None and self._with_counter is not None:  # the entry and its generation: one read
                hit, before = await self._with_counter(key, f"{key}:gen")
                before = _UNKNOWN if before is None else before
            else:
                hit = await self.cache.get(key)
        except Exception:  # noqa: BLE001 - same policy as _safe, inlined on the hottest path
            self._on_error("get")
            log.warning("cache get failed; serving from origin", exc_info=True)
            hit = None
        if hit is not None:
            self._on_result(namespace, "hit")
            return hit
        self._on_result(namespace, "miss")
        pending = self._inflight.get(key)
        if pending is not None:  # one origin load per hot key in this process (a refill's included)
            return await asyncio.shield(pending)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            if group is None and before is _UNKNOWN and self._with_counter is None:
                before = await self._counter(f"{key}:gen")
            value = await self._store(key, ttl, await load(), group, before)
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            self._inflight.pop(key, None)

    async def invalidate(self, *keys: str, groups: tuple[str, ...] = ()) -> bool:
        """Bump each key's generation and each group's version, then delete the keys: one call to
        the cache (one round trip on Redis, its in-process tier's announcement included). False
        when the cache failed (the journal replays a staged one)."""
        return await self._invalidate(keys, _counters(keys, groups))

    async def _invalidate(self, keys, counters) -> bool:
        if not counters:
            return True
        try:
            await self.cache.invalidate(keys, counters)
            return True
        except Exception:  # noqa: BLE001 - same policy as _safe
            self._on_error("invalidate")
            log.warning("cache invalidate failed%s", "; it will be replayed" if self.journaled else "", exc_info=True)
            return False

    async def stage(self, uow: CachingUnitOfWork, keys: Sequence[str], groups: Sequence[str] = ()) -> None:
        """Invalidate ``keys`` and ``groups`` once ``uow`` commits (never if it rolls back). Where
        the cache can lose it (Redis), the invalidation is first written to the journal with the
        commit, and forgotten once applied: one lost to a Redis blip or a crash is replayed."""
        counters = _counters(keys, groups)
        if not counters:
            return
        if not self.journaled:
            uow.after_commit(lambda: self._invalidate(tuple(keys), counters))
            return
        entry = StagedInvalidation(self.ids.new_id("inv"), tuple(keys), tuple(counters), self.clock.now())

        async def apply() -> None:
            if await self._invalidate(entry.keys, list(entry.counters)):
                uow.cache_journal.applied(entry.id)
        await uow.cache_journal.record(entry)
        uow.after_commit(apply)

    async def replay(self, journal: InvalidationJournal, older_than: float = 30.0, limit: int = 500) -> int:
        """The worker's job: apply the staged invalidations no process confirmed (Redis failed, or
        the process died between its commit and the cache), then forget them."""
        assert self.clock is not None
        entries = await journal.unapplied(older_than=self.clock.now() - timedelta(seconds=older_than), limit=limit)
        done = [e.id for e in entries if await self._invalidate(e.keys, list(e.counters))]
        await journal.forget(done)
        return len(done)


def _counters(keys: Sequence[str], groups: Sequence[str]) -> list[str]:
    return [f"{key}:gen" for key in keys] + [f"{group}:ver" for group in groups]
