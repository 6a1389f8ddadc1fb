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


async def test_a_ttl_of_zero_or_less_goes_to_the_origin_without_touching_the_cache():
    """Uncached (TTL <= 0): every read loads, and the cache sees no call at all (no get, no
    generation read, no write); a callable TTL that comes out <= 0 keeps nothing either."""
    calls = []

    class Counting(MemoryCache):
        def __getattribute__(self, name):
            if name in ("get", "set", "set_if_unchanged", "invalidate"):
                calls.append(name)
            return super().__getattribute__(name)

    aside = CacheAside(Counting(FakeClock()))
    loader = RecordingLoads()
    assert await aside.get("order:o1", 0, loader(b"v1"), "order") == b"v1"
    assert await aside.get("order:o1", -5, loader(b"v2"), "order") == b"v2"
    assert await aside.get("orders:u1:p1", 0, loader(b"l1"), "orders", group="orders:u1") == b"l1"
    assert calls == [] and loader.seen == [b"v1", b"v2", b"l1"]
    assert await aside.get("order:o2", lambda: 0, loader(b"w1"), "order") == b"w1"
    assert "set" not in calls and "set_if_unchanged" not in calls
    assert aside.peek("order:o2", "order") is None
    assert await aside.get("order:o2", 60, loader(b"w2"), "order") == b"w2"  # loaded again: nothing was kept
    assert loader.seen[-2:] == [b"w1", b"w2"]
