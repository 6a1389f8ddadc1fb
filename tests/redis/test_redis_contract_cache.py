"""Cache contract: the same assertions for every ``Cache`` production wires: MemoryCache, RedisCache,
the in-process tier in front of Redis (TieredCache), and the cache that outlives a Redis outage
(LocalFallbackCache)."""
from __future__ import annotations

import pytest

from adapters.memory.infrastructure import MemoryCache
from adapters.metrics import Metrics
from adapters.redis import LocalFallbackCache, RedisCache
from adapters.redis.tiered import TieredCache
from adapters.system import SystemClock
from tests.redis.conftest import Harness

KINDS = ["memory", pytest.param("redis", marks=pytest.mark.redis), pytest.param("tiered", marks=pytest.mark.redis),
         pytest.param("fallback", marks=pytest.mark.redis)]


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
async def cache(kind, harness, request, prefix, client_factory):
    if kind == "memory":
        yield MemoryCache(harness.clock)
        return
    redis = await client_factory()
    await redis.ping()
    if kind == "redis":
        yield RedisCache(redis, prefix)
    elif kind == "fallback":
        yield LocalFallbackCache(RedisCache(redis, prefix), MemoryCache(SystemClock()), Metrics())
    else:
        tiered = TieredCache(RedisCache(redis, prefix), await client_factory(socket_timeout=None), prefix,
                             local_ttl=60)
        await tiered.start()
        yield tiered
        await tiered.stop()


@pytest.fixture
def harness(kind: str) -> Harness:
    from adapters.system import FakeClock
    return Harness(kind, FakeClock() if kind == "memory" else None)


async def test_get_set_delete(cache):
    assert await cache.get("product:1") is None
    await cache.set("product:1", b"\x00payload\xff", ttl=60)
    assert await cache.get("product:1") == b"\x00payload\xff"
    await cache.set("product:1", b"v2", ttl=60)
    assert await cache.get("product:1") == b"v2"
    await cache.delete("product:1", "never-set")
    assert await cache.get("product:1") is None
    await cache.delete()  # no keys: a no-op, not an error


async def test_entry_expires_after_its_ttl(cache, harness):
    await cache.set("short", b"x", ttl=0.3)
    await cache.set("long", b"y", ttl=60)
    await harness.advance(0.45)
    assert await cache.get("short") is None
    assert await cache.get("long") == b"y"


async def test_non_positive_ttl_stores_nothing(cache):
    await cache.set("k", b"old", ttl=60)
    assert await cache.get("k") == b"old"
    await cache.set("k", b"new", ttl=0)
    assert await cache.get("k") is None
    await cache.set("k", b"old", ttl=60)
    await cache.set("k", b"newer", ttl=-5)
    assert await cache.get("k") is None


async def test_delete_pattern_removes_only_matches(cache):
    for key in ("orders:u1:a", "orders:u1:b", "orders:u10:a", "orders:u2:a", "order:o1"):
        await cache.set(key, b"1", ttl=60)
    assert await cache.delete_pattern("orders:u1:*") == 2
    assert await cache.get("orders:u1:a") is None
    assert await cache.get("orders:u10:a") == b"1"
    assert await cache.delete_pattern("orders:u[!2]*:a") == 1
    assert await cache.get("orders:u2:a") == b"1"
    assert await cache.delete_pattern("nothing:*") == 0
    assert await cache.get("order:o1") == b"1"


async def test_delete_pattern_walks_many_keys(cache):
    for i in range(1200):
        await cache.set(f"products:page:{i}", b"p", ttl=60)
    await cache.set("products-other", b"keep", ttl=60)
    assert await cache.delete_pattern("products:*") == 1200
    assert await cache.get("products:page:7") is None
    assert await cache.get("products-other") == b"keep"


async def test_incr_counts_from_one(cache):
    assert await cache.incr("gen:orders") == 1
    assert await cache.incr("gen:orders") == 2
    assert await cache.get("gen:orders") == b"2"
    assert await cache.incr("gen:other") == 1
    assert await cache.incr("gen:orders") == 3
    assert await cache.get("gen:orders") == b"3"  # a value read before an increment is not served after it


async def test_invalidate_bumps_counters_and_deletes_keys(cache):
    await cache.set("order:o1", b"body", ttl=60)
    await cache.set("order:o2", b"other", ttl=60)
    await cache.incr("order:o1:gen")
    await cache.invalidate(["order:o1", "never-set"], ["order:o1:gen", "orders:u1:ver"])
    assert await cache.get("order:o1") is None
    assert await cache.get("order:o1:gen") == b"2"
    assert await cache.get("orders:u1:ver") == b"1"
    assert await cache.get("order:o2") == b"other"
    await cache.invalidate([], [])  # nothing to do: a no-op, not an error
    await cache.invalidate([], ["orders:u1:ver"])
    assert await cache.get("orders:u1:ver") == b"2"


async def test_keys_live_under_the_prefix(redis_client, prefix):
    cache = RedisCache(redis_client, prefix)
    await cache.set("order:o1", b"1", ttl=60)
    await cache.incr("gen")
    await cache.invalidate([], ["ver"])
    assert await redis_client.get(f"{prefix}order:o1") == b"1"
    assert 86000 < await redis_client.ttl(f"{prefix}gen") <= 86400
    assert 86000 < await redis_client.ttl(f"{prefix}ver") <= 86400
    assert 59_000 < await redis_client.pttl(f"{prefix}order:o1") <= 60_000
    other = RedisCache(redis_client, prefix + "other:")
    await other.set("order:o1", b"2", ttl=60)
    assert await other.delete_pattern("*") == 1
    assert await cache.get("order:o1") == b"1"


async def test_set_if_unchanged_writes_only_while_the_counter_reads_what_was_expected(cache):
    assert await cache.set_if_unchanged("order:o1", b"v1", 60, "order:o1:gen", b"0") is True  # unset reads 0
    assert await cache.get("order:o1") == b"v1"
    await cache.invalidate(["order:o1"], ["order:o1:gen"])  # generation 0 -> 1, entry gone
    assert await cache.set_if_unchanged("order:o1", b"stale", 60, "order:o1:gen", b"0") is False
    assert await cache.get("order:o1") is None
    assert await cache.set_if_unchanged("order:o1", b"v2", 60, "order:o1:gen", b"1") is True
    assert await cache.get("order:o1") == b"v2"
    assert await cache.set_if_unchanged("order:o1", b"v3", 0, "order:o1:gen", b"1") is False


async def test_a_fill_that_raced_an_invalidation_is_not_stored(cache):
    """CacheAside over every Cache: the invalidation lands while the origin is being read."""
    from application.caching import CacheAside

    aside = CacheAside(cache)

    async def load_then_change() -> bytes:
        await aside.invalidate("order:o9")  # the write commits while this load is in flight
        return b"what the origin said before the change"
    assert await aside.get("order:o9", 60, load_then_change) == b"what the origin said before the change"
    assert await cache.get("order:o9") is None

    async def load() -> bytes:
        return b"fresh"
    assert await aside.get("order:o9", 60, load) == b"fresh"
    assert await cache.get("order:o9") == b"fresh"
