"""The in-process tier over Redis: two caches on one Redis stand for two API processes."""
from __future__ import annotations

import asyncio
import time

import pytest

from adapters.redis import RedisCache
from adapters.redis.tiered import TieredCache
from application.caching import CacheAside
from application.errors import NotFound
from tests import roundtrips
from tests.loaders import RecordingLoads


async def wait_until(predicate, timeout: float = 2.0) -> float:
    started = time.monotonic()
    while not await predicate():
        assert time.monotonic() - started < timeout, "condition not reached in time"
        await asyncio.sleep(0.005)
    return time.monotonic() - started


@pytest.fixture
async def pair(client_factory, prefix):
    """Two processes' tiered caches (each with its own data and pub/sub clients) on one Redis."""
    caches = []
    for _ in range(2):
        data, subscriber = await client_factory(), await client_factory(socket_timeout=None)
        cache = TieredCache(RedisCache(data, prefix), subscriber, prefix, local_ttl=30)
        await cache.start()
        caches.append(cache)
    yield caches
    for cache in caches:
        await cache.stop()


async def test_a_local_hit_needs_no_redis(pair):
    a, _ = pair
    await a.set("order:o1", b"v1", ttl=60)

    async def unreachable(key):
        raise ConnectionError("redis is not asked on a local hit")
    a.shared.get = unreachable
    assert await a.get("order:o1") == b"v1"


async def test_an_invalidation_in_one_process_reaches_the_other(pair):
    a, b = pair
    await a.set("order:o1", b"v1", ttl=60)
    assert await b.get("order:o1") == b"v1"  # b now holds it locally too
    await a.delete("order:o1")
    assert await a.get("order:o1") is None  # the writer is never stale

    async def b_forgot() -> bool:
        return "order:o1" not in b._local
    elapsed = await wait_until(b_forgot)
    assert await b.get("order:o1") is None and elapsed < 1.0


async def test_pattern_invalidation_reaches_the_other_process(pair):
    a, b = pair
    for key in ("orders:u1:limit=10", "orders:u1:limit=20", "orders:u2:limit=10"):
        await a.set(key, b"page", ttl=60)
        assert await b.get(key) == b"page"
    await a.delete_pattern("orders:u1:*")

    async def b_dropped_u1() -> bool:
        return not any(k.startswith("orders:u1:") for k in b._local)
    await wait_until(b_dropped_u1)
    assert await b.get("orders:u2:limit=10") == b"page"
    assert await b.get("orders:u1:limit=10") is None


async def test_a_fill_that_raced_an_invalidation_is_not_kept(pair):
    a, _ = pair
    await a.shared.set("k", b"old", ttl=60)
    real_get = a.shared.get

    async def slow_get(key):
        value = await real_get(key)
        a._drop(["k"], ())  # the invalidation message lands while the value is in flight
        return value
    a.shared.get = slow_get
    assert await a.get("k") == b"old"
    assert "k" not in a._local


async def test_losing_the_subscription_clears_the_local_tier(pair):
    a, _ = pair
    await a.set("k", b"v", ttl=60)
    assert "k" in a._local
    await a.stop()  # the listener is gone: nothing here may be trusted any more
    assert a._local == {} and not a._subscribed.is_set()
    await a.set("k2", b"v", ttl=60)
    assert "k2" not in a._local  # not remembered while deaf
    await a.start()


async def test_increments_always_reach_redis(pair):
    a, b = pair
    assert await a.incr("order:o1:gen") == 1
    assert await b.incr("order:o1:gen") == 2
    assert await a.shared.get("order:o1:gen") == b"2"


async def test_one_invalidate_bumps_deletes_and_reaches_the_other_process(pair):
    a, b = pair
    await a.set("order:o1", b"v1", ttl=60)
    assert await b.get("order:o1") == b"v1"  # held locally in b
    with roundtrips.counting() as seen:
        await a.invalidate(["order:o1"], ["order:o1:gen", "orders:u1:ver"])
    assert seen.redis == 1, seen.commands  # one round trip
    assert seen.commands == ["pipeline[INCRBY,EXPIRE,INCRBY,EXPIRE,UNLINK,PUBLISH]"]
    assert await a.get("order:o1") is None
    assert await a.shared.get("order:o1:gen") == b"1" and await a.shared.get("orders:u1:ver") == b"1"

    async def b_forgot() -> bool:
        return "order:o1" not in b._local
    await wait_until(b_forgot)
    assert await b.get("order:o1") is None


async def test_a_group_version_is_held_locally_and_dropped_everywhere_when_bumped(pair):
    a, b = pair
    aside_a, aside_b = CacheAside(a, control=a.shared), CacheAside(b, control=b.shared)
    loader = RecordingLoads()
    assert await aside_a.get("orders:u1:page1", 60, loader(b"v0"), group="orders:u1") == b"v0"
    assert await aside_b.get("orders:u1:page1", 60, loader(b"never"), group="orders:u1") == b"v0"
    assert "orders:u1:ver" in b._local  # the version is read from the tier: no Redis round trip next time

    async def unreachable(key):
        raise ConnectionError("a cached list needs no Redis")
    real_get, b.shared.get = b.shared.get, unreachable
    assert await aside_b.get("orders:u1:page1", 60, loader(b"never"), group="orders:u1") == b"v0"
    b.shared.get = real_get

    await aside_a.invalidate(groups=("orders:u1",))  # a write in process a
    assert await aside_a.get("orders:u1:page1", 60, loader(b"v1"), group="orders:u1") == b"v1"  # never stale there

    async def b_forgot() -> bool:
        return "orders:u1:ver" not in b._local
    await wait_until(b_forgot)
    assert await aside_b.get("orders:u1:page1", 60, loader(b"never"), group="orders:u1") == b"v1"
    assert loader.seen == [b"v0", b"v1"]


async def test_peek_answers_only_what_the_tier_holds(pair):
    a, b = pair
    aside = CacheAside(a, control=a.shared)
    assert aside.peek("order:o1", "order") is None  # not held: the caller must ask get
    await a.set("order:o1", b"v1", ttl=60)
    assert aside.peek("order:o1", "order") == b"v1"
    assert await a.get("orders:u1:ver") is None  # a known absence, held now
    await a.set("orders:u1:page1#v0", b"list", ttl=60)
    assert aside.peek("orders:u1:page1", "orders", group="orders:u1") == b"list"
    await aside.invalidate("order:o1", groups=("orders:u1",))
    assert aside.peek("order:o1", "order") is None
    assert aside.peek("orders:u1:page1", "orders", group="orders:u1") is None


async def test_a_silent_channel_stops_the_tier_within_the_staleness_bound(client_factory, prefix):
    """Pings that go unanswered (a connection that died without closing): the tier serves nothing
    once the last answered ping is ``staleness`` old, then clears itself and subscribes again."""
    data, subscriber = await client_factory(), await client_factory(socket_timeout=None)
    silent = {"on": False}
    real_pubsub = subscriber.pubsub

    def pubsub(**kwargs):
        channel = real_pubsub(**kwargs)
        real_ping = channel.ping

        async def ping(*args):
            if not silent["on"]:
                return await real_ping(*args)
        channel.ping = ping
        return channel
    subscriber.pubsub = pubsub
    cache = TieredCache(RedisCache(data, prefix), subscriber, prefix, local_ttl=60, staleness=0.4)
    await cache.start()
    try:
        await cache.set("order:o1", b"v1", ttl=60)
        assert cache.peek("order:o1") == b"v1"
        silent["on"] = True
        went_silent = time.monotonic()
        assert cache._heard_until <= went_silent + 0.4  # trusted at most the bound past the last answer

        async def untrusted() -> bool:
            return cache.peek("order:o1") is None
        await wait_until(untrusted)
        assert time.monotonic() >= cache._heard_until  # it stopped because the bound ran out, not before

        async def cleared() -> bool:
            return cache._local == {}
        await wait_until(cleared)
        silent["on"] = False

        async def trusted_again() -> bool:
            await cache.set("order:o1", b"v2", ttl=60)
            return cache.peek("order:o1") == b"v2"
        await wait_until(trusted_again, timeout=3.0)
    finally:
        await cache.stop()


async def test_answered_pings_keep_entries_past_the_staleness_bound(client_factory, prefix):
    data, subscriber = await client_factory(), await client_factory(socket_timeout=None)
    cache = TieredCache(RedisCache(data, prefix), subscriber, prefix, local_ttl=60, staleness=0.2)
    await cache.start()
    try:
        await cache.set("order:o1", b"v1", ttl=60)
        await asyncio.sleep(0.5)  # more than twice the bound: only the pongs keep the tier trusted
        assert cache.peek("order:o1") == b"v1"
    finally:
        await cache.stop()


def test_the_staleness_bound_must_be_positive():
    with pytest.raises(ValueError, match="staleness"):
        TieredCache(None, None, "p:", staleness=0)


async def test_a_subscription_that_redis_py_reconnects_by_itself_clears_the_tier(client_factory, prefix):
    """redis-py retries a read on the subscription by reconnecting and subscribing again, without a
    word to the listener. What was published in between is lost, so the tier must not outlive it."""
    name = "tier-test-" + prefix.split(":")[1]
    data, subscriber = await client_factory(), await client_factory(socket_timeout=None, client_name=name)
    cache = TieredCache(RedisCache(data, prefix), subscriber, prefix, local_ttl=60, staleness=2)
    await cache.start()
    try:
        await cache.set("order:o1", b"v1", ttl=60)
        assert cache.peek("order:o1") == b"v1"
        (victim,) = [c for c in await data.client_list() if c.get("name") == name]
        gap = data.pipeline(transaction=True)  # atomic: the invalidation lands while nobody listens there
        gap.execute_command("CLIENT", "KILL", "ID", victim["id"])
        gap.unlink(prefix + "order:o1")
        gap.publish(cache.channel, TieredCache._message(["order:o1"], ()))
        await gap.execute()

        async def forgotten() -> bool:
            return cache.peek("order:o1") is None
        await wait_until(forgotten, timeout=3.0)

        async def trusted_again() -> bool:
            await cache.set("order:o2", b"v2", ttl=60)
            return cache.peek("order:o2") == b"v2"
        await wait_until(trusted_again, timeout=3.0)
        assert await cache.get("order:o1") is None  # the invalidation, read from Redis
    finally:
        await cache.stop()


async def test_a_local_entry_lives_local_ttl_on_the_clock_port(client_factory, prefix):
    """Entry lifetimes are measured on the clock port: a fake clock moves them, no sleeping."""
    from adapters.system import FakeClock

    clock = FakeClock()
    data, subscriber = await client_factory(), await client_factory(socket_timeout=None)
    cache = TieredCache(RedisCache(data, prefix), subscriber, prefix, local_ttl=5, staleness=60, clock=clock)
    await cache.start()
    try:
        await cache.set("order:o1", b"v1", ttl=600)
        asked: list[str] = []
        real_get = cache.shared.get

        async def counting_get(key):
            asked.append(key)
            return await real_get(key)
        cache.shared.get = counting_get
        clock.advance(4.9)
        assert await cache.get("order:o1") == b"v1" and asked == []  # still local
        assert cache.peek("order:o1") == b"v1"
        clock.advance(0.2)
        assert cache.peek("order:o1") is None  # past local_ttl: no longer served from here
        assert await cache.get("order:o1") == b"v1" and asked == ["order:o1"]
    finally:
        await cache.stop()


@pytest.fixture
async def timed(client_factory, prefix):
    """One process's tier on a fake clock (the staleness bound far off: pings stay good)."""
    from adapters.system import FakeClock

    clock = FakeClock()
    data, subscriber = await client_factory(), await client_factory(socket_timeout=None)
    cache = TieredCache(RedisCache(data, prefix), subscriber, prefix, local_ttl=60, staleness=600, clock=clock)
    await cache.start()
    yield cache, clock
    await cache.stop()


async def test_a_read_near_the_end_of_a_filled_entry_is_answered_and_refills_it(timed):
    cache, clock = timed
    aside, loader = CacheAside(cache, control=cache.shared), RecordingLoads()
    assert await aside.get("order:o1", 30, loader(b"v1")) == b"v1"  # a fill: here and in Redis for 30 s
    clock.advance(23.9)
    assert aside.peek("order:o1", "order") == b"v1" and aside.due is None  # not yet in its last fifth
    clock.advance(0.2)
    assert aside.peek("order:o1", "order") == b"v1" and aside.due == "order:o1"  # answered, and told
    assert aside.peek("order:o1", "order") == b"v1" and aside.due is None  # one reader is told
    aside.refresh("order:o1", 30, loader(b"v2"))
    await aside.drain()
    assert loader.seen == [b"v1", b"v2"]
    assert aside.peek("order:o1", "order") == b"v2"
    assert 29_000 < await cache.shared.redis.pttl(cache.shared.prefix + "order:o1") <= 30_000  # a new lifetime
    clock.advance(10)  # past the first fill's end: still held, and not due before 24 s after the refill
    assert aside.peek("order:o1", "order") == b"v2" and aside.due is None


async def test_a_refill_that_raced_an_invalidation_stores_nothing(timed):
    cache, clock = timed
    aside = CacheAside(cache, control=cache.shared)
    await aside.get("order:o1", 30, RecordingLoads()(b"v1"))
    clock.advance(25)
    assert aside.peek("order:o1", "order") == b"v1" and aside.due == "order:o1"

    async def raced() -> bytes:
        await aside.invalidate("order:o1")  # a write committed while the refill read the origin
        return b"stale"
    aside.refresh("order:o1", 30, raced)
    await aside.drain()
    assert aside.peek("order:o1", "order") is None
    assert await cache.shared.get("order:o1") is None


@pytest.mark.parametrize("failure, counted", [
    (ConnectionError("postgres went away"), ["refresh"]),  # a cache-side failure: counted and logged
    (NotFound("no such order"), []),  # the origin's answer changed: its miss will tell the reader
])
async def test_a_failed_refill_leaves_the_entry_to_its_ttl(timed, caplog, failure, counted):
    cache, clock = timed
    errors: list[str] = []
    aside = CacheAside(cache, control=cache.shared, on_error=errors.append)
    await aside.get("order:o1", 30, RecordingLoads()(b"v1"))
    clock.advance(25)
    aside.peek("order:o1", "order")

    async def failing() -> bytes:
        raise failure
    aside.refresh(aside.due, 30, failing)
    await aside.drain()
    assert errors == counted
    assert bool([r for r in caplog.records if r.exc_info]) == bool(counted)
    assert aside.peek("order:o1", "order") == b"v1"  # still served until its end
    clock.advance(5.1)
    assert aside.peek("order:o1", "order") is None  # then a miss, as without refresh-ahead
    assert aside._inflight == {}  # the failed load holds no place: that miss loads it itself


async def test_only_entries_this_process_filled_for_at_most_local_ttl_are_refilled_ahead(timed, client_factory, prefix):
    cache, clock = timed
    aside = CacheAside(cache, control=cache.shared)
    await aside.get("order:long", 600, RecordingLoads()(b"v"))  # Redis keeps it past the local copy
    await cache.shared.set("order:other", b"w", 30)  # filled by another process
    assert await cache.get("order:other") == b"w"
    clock.advance(59)
    assert aside.peek("order:long", "order") == b"v" and aside.due is None
    assert aside.peek("order:other", "order") == b"w" and aside.due is None


async def test_a_list_page_near_its_end_refills_under_the_same_version(timed):
    cache, clock = timed
    aside, loader = CacheAside(cache, control=cache.shared), RecordingLoads()
    assert await aside.get("orders:u1:page1", 30, loader(b"p1"), group="orders:u1") == b"p1"
    clock.advance(25)
    assert aside.peek("orders:u1:page1", "orders", group="orders:u1") == b"p1"
    assert aside.due == "orders:u1:page1#v0"
    aside.refresh(aside.due, 30, loader(b"p2"), group="orders:u1")
    await aside.drain()
    assert aside.peek("orders:u1:page1", "orders", group="orders:u1") == b"p2"
    assert sorted(k for k in cache._local if k.startswith("orders:u1:page1")) == ["orders:u1:page1#v0"]

