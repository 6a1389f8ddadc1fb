"""CacheAside over the memory cache: a hit is answered by ``peek`` (no coroutine), a change by
``invalidate`` makes the next read load again, for single entries and for list groups."""
from __future__ import annotations

from adapters.memory.infrastructure import MemoryCache
from adapters.system import FakeClock
from application.caching import CacheAside
from tests.loaders import RecordingLoads


async def test_peek_answers_hits_and_invalidation_makes_the_next_read_load():
    results = []
    aside = CacheAside(MemoryCache(FakeClock()), on_result=lambda ns, result: results.append(result))
    loader = RecordingLoads()
    assert aside.peek("order:o1", "order") is None
    assert await aside.get("order:o1", 60, loader(b"v1"), "order") == b"v1"
    assert aside.peek("order:o1", "order") == b"v1"
    assert await aside.get("orders:u1:p1", 60, loader(b"list1"), "orders", group="orders:u1") == b"list1"
    assert aside.peek("orders:u1:p1", "orders", group="orders:u1") == b"list1"

    await aside.invalidate("order:o1", groups=("orders:u1",))
    assert aside.peek("order:o1", "order") is None
    assert aside.peek("orders:u1:p1", "orders", group="orders:u1") is None
    assert await aside.get("order:o1", 60, loader(b"v2"), "order") == b"v2"
    assert await aside.get("orders:u1:p1", 60, loader(b"list2"), "orders", group="orders:u1") == b"list2"
    assert loader.seen == [b"v1", b"list1", b"v2", b"list2"]
    assert results.count("hit") == 2 and results.count("miss") == 4


async def test_an_invalidation_landing_just_before_the_fill_is_written_wins():
    """Another process's commit invalidates the entry after this fill's load finished and just
    before its write reaches the cache: the write is refused (checked and written in one step)."""

    class CommitLandsFirst(MemoryCache):
        async def set(self, key, value, ttl):
            await MemoryCache.invalidate(self, [key], [f"{key}:gen"])
            await super().set(key, value, ttl)

        async def set_if_unchanged(self, key, value, ttl, counter, expected):
            await MemoryCache.invalidate(self, [key], [counter])
            return await super().set_if_unchanged(key, value, ttl, counter, expected)

    cache = CommitLandsFirst(FakeClock())
    aside = CacheAside(cache)
    loader = RecordingLoads()
    assert await aside.get("order:o1", 60, loader(b"before the commit"), "order") == b"before the commit"
    assert await MemoryCache.get(cache, "order:o1") is None  # the stale value was never stored
