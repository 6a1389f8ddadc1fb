"""Redis down: general limits fail open (counted), strict ones fall back in-process; the cache misses."""
from __future__ import annotations

import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from adapters.memory.infrastructure import MemoryCache, MemoryCheckoutSessionStore, MemoryRateLimiter
from adapters.metrics import Metrics
from adapters.redis import (
    FailOpenRateLimiter,
    LocalFallbackCache,
    LocalFallbackSessions,
    RedisCache,
    RedisCheckoutSessionStore,
    RedisRateLimiter,
)
from adapters.redis.codec import decode_session, encode_session
from adapters.redis.fallback import policy_of
from adapters.redis.lean import lean
from adapters.system import FakeClock
from test_redis_contract_sessions import bare_session

pytestmark = pytest.mark.redis
STRICT = {"login", "payment_initiate"}


def counter(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


async def test_redis_down_general_policy_fails_open_and_is_counted(dead_redis, prefix, metrics):
    limiter = FailOpenRateLimiter(RedisRateLimiter(dead_redis, prefix), MemoryRateLimiter(FakeClock()), metrics, STRICT)
    started = time.monotonic()
    results = [await limiter.hit("checkout_initiate:user:u1", 2, 60) for _ in range(5)]
    assert time.monotonic() - started < 2.5  # short timeouts, no redis-py default retry storm
    assert all(r.allowed and r.limit == 2 and r.retry_after == 0 for r in results)
    assert all(0 <= r.remaining <= 2 for r in results)
    assert counter(metrics, "payport_rate_limit_fail_open_total", policy="checkout_initiate") == 5


async def test_redis_down_strict_policy_is_limited_in_process(dead_redis, prefix, metrics):
    limiter = FailOpenRateLimiter(RedisRateLimiter(dead_redis, prefix), MemoryRateLimiter(FakeClock()), metrics, STRICT)
    results = [await limiter.hit("login:email:a@x.io", 3, 60) for _ in range(5)]
    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert results[3].retry_after > 0
    assert (await limiter.hit("payment_initiate:user:u1", 1, 60)).allowed
    assert not (await limiter.hit("payment_initiate:user:u1", 1, 60)).allowed
    assert counter(metrics, "payport_rate_limit_fail_open_total", policy="login") == 0


async def test_redis_up_the_primary_decides(redis_client, prefix, metrics):
    fallback = MemoryRateLimiter(FakeClock())
    limiter = FailOpenRateLimiter(RedisRateLimiter(redis_client, prefix), fallback, metrics, STRICT)
    assert [(await limiter.hit("checkout_initiate:u", 1, 60)).allowed for _ in range(2)] == [True, False]
    assert (await limiter.hit("login:u", 1, 60)).allowed
    assert not fallback._tat  # the in-process limiter was never consulted
    assert await redis_client.exists(f"{prefix}ratelimit:login:u")


async def test_programming_errors_are_not_swallowed(dead_redis, prefix, metrics):
    class Broken:
        async def hit(self, key, limit, window):
            raise ValueError("bug")

    limiter = FailOpenRateLimiter(Broken(), MemoryRateLimiter(FakeClock()), metrics, STRICT)
    with pytest.raises(ValueError):
        await limiter.hit("checkout_initiate:u", 1, 60)


def test_policy_is_the_key_head():
    assert policy_of("login:email:a@x.io") == "login"
    assert policy_of("nocolon") == "nocolon"


async def test_local_fallback_cache_keeps_working_on_a_dead_redis(dead_redis, prefix, metrics):
    cache = LocalFallbackCache(RedisCache(dead_redis, prefix), MemoryCache(FakeClock()), metrics)
    await cache.set("sandbox:txn:r1", b"x", ttl=60)
    assert await cache.get("sandbox:txn:r1") == b"x"
    assert await cache.incr("gen") == 1
    assert await cache.delete_pattern("sandbox:*") == 1
    assert await cache.get("sandbox:txn:r1") is None
    assert counter(metrics, "payport_cache_errors_total", operation="cache.set") == 1


async def test_local_fallback_cache_uses_redis_when_healthy(redis_client, prefix, metrics):
    local = MemoryCache(FakeClock())
    cache = LocalFallbackCache(RedisCache(redis_client, prefix), local, metrics)
    await cache.set("k", b"v", ttl=60)
    assert await cache.get("k") == b"v" and await RedisCache(redis_client, prefix).get("k") == b"v"
    assert counter(metrics, "payport_cache_errors_total", operation="cache.get") == 0


async def test_local_fallback_cache_keeps_what_it_wrote_across_redis_dying_and_coming_back_empty(
        client_factory, prefix, metrics):
    """A sandbox transaction written while Redis was up is still found while Redis is down and after
    it came back empty (issue 13's battery: a payment begun before the outage, approved during it)."""
    client = await client_factory()
    cache = LocalFallbackCache(RedisCache(client, prefix), MemoryCache(FakeClock()), metrics)
    await cache.set("sandbox:txn:r1", b"pending", ttl=60)

    outage = Outage(client)
    outage.down()
    assert await cache.get("sandbox:txn:r1") == b"pending"  # Redis down
    assert counter(metrics, "payport_cache_errors_total", operation="cache.get") == 1
    outage.up()
    await RedisCache(client, prefix).delete("sandbox:txn:r1")  # Redis back, empty
    assert await cache.get("sandbox:txn:r1") == b"pending"
    await cache.delete("sandbox:txn:r1")
    assert await cache.get("sandbox:txn:r1") is None


class Outage:
    """Redis's connection failing and coming back, for one client."""

    def __init__(self, client) -> None:
        self.client, self.real = client, client.execute_command
        self.batches = lean(client)  # the hot paths' batches (adapters/redis/lean.py) fail too
        self.real_call = self.batches.call

    def down(self) -> None:
        async def boom(*args, **kwargs):
            raise RedisConnectionError("Connection reset by peer")
        self.client.execute_command = self.batches.call = boom

    def up(self) -> None:
        self.client.execute_command, self.batches.call = self.real, self.real_call


def fallback_sessions(client, prefix, metrics, copies: str = "codec", **options) -> LocalFallbackSessions:
    """As wired (local copies in the Redis codec's bytes, encoded once for both), or with
    ``copies="clone"`` (the memory store's default: object copies, each store encoding its own)."""
    local = (MemoryCheckoutSessionStore(FakeClock()) if copies == "clone"
             else MemoryCheckoutSessionStore(FakeClock(), encode=encode_session, decode=decode_session))
    return LocalFallbackSessions(RedisCheckoutSessionStore(client, prefix), local, metrics, **options)


@pytest.mark.parametrize("copies", ["codec", "clone"])
async def test_local_fallback_sessions_hold_what_redis_holds_and_no_later_change(client_factory, prefix, metrics,
                                                                                 copies):
    client = await client_factory()
    sessions = fallback_sessions(client, prefix, metrics, copies=copies)
    session = bare_session()
    await sessions.save(session, 60)
    stored = await client.get(RedisCheckoutSessionStore(client, prefix).key(session.id))
    assert decode_session(stored) == session
    session.coupon_code = "CHANGED-AFTER"  # the caller's object moves on: no stored copy does
    assert await sessions.fallback.get(session.id) == decode_session(stored)
    assert (await sessions.get(session.id)).coupon_code is None
    if copies == "codec":  # as wired: the local copy is the very bytes Redis holds
        assert sessions.fallback._sessions[session.id][0] == stored


async def test_local_fallback_sessions_survive_redis_dying_mid_flight(client_factory, prefix, metrics):
    """A checkout saved while Redis was up is still served while it is down (issue 13's battery:
    a checkout begun before the outage lost with a 404 on its next step)."""
    client = await client_factory()
    sessions = fallback_sessions(client, prefix, metrics)
    session = bare_session()
    await sessions.save(session, 60)
    outage = Outage(client)
    outage.down()
    assert await sessions.get(session.id) == session  # what this process wrote is still here
    await sessions.save(session, 60)
    assert await sessions.get(session.id) == session  # new writes live in-process meanwhile
    assert counter(metrics, "payport_cache_errors_total", operation="sessions.save") == 1


async def test_local_fallback_sessions_write_back_when_redis_returns_empty(client_factory, prefix, metrics):
    client = await client_factory()
    sessions = fallback_sessions(client, prefix, metrics)
    before, during = bare_session("chk_before"), bare_session("chk_during")
    await sessions.save(before, 60)
    outage = Outage(client)
    outage.down()
    await sessions.save(during, 60)
    outage.up()
    await RedisCheckoutSessionStore(client, prefix).delete(before.id)  # Redis back, empty
    assert await sessions.get(before.id) == before
    assert await sessions.get(during.id) == during
    other_process = RedisCheckoutSessionStore(client, prefix)  # written back: every process sees them
    assert await other_process.get(before.id) == before
    assert await other_process.get(during.id) == during


async def test_local_fallback_sessions_never_resurrect_what_redis_dropped(client_factory, prefix, metrics):
    """Redis is the truth while it answers: a checkout another process confirmed (deleted) is not
    served from this process's copy, not even during a later outage."""
    client = await client_factory()
    sessions = fallback_sessions(client, prefix, metrics)
    session = bare_session()
    await sessions.save(session, 60)
    await RedisCheckoutSessionStore(client, prefix).delete(session.id)  # another process confirmed it
    assert await sessions.get(session.id) is None
    Outage(client).down()
    assert await sessions.get(session.id) is None


async def test_local_fallback_sessions_apply_a_delete_made_during_the_outage(client_factory, prefix, metrics):
    client = await client_factory()
    sessions = fallback_sessions(client, prefix, metrics)
    session = bare_session()
    await sessions.save(session, 60)
    outage = Outage(client)
    outage.down()
    await sessions.delete(session.id)  # confirmed during the outage
    assert await sessions.get(session.id) is None
    outage.up()
    assert await RedisCheckoutSessionStore(client, prefix).get(session.id) == session  # Redis kept it
    assert await sessions.get(session.id) is None  # the delete is applied on the first read back
    assert await RedisCheckoutSessionStore(client, prefix).get(session.id) is None


async def test_local_fallback_sessions_keep_at_most_max_local_copies(client_factory, prefix, metrics):
    client = await client_factory()
    sessions = fallback_sessions(client, prefix, metrics, max_local=2)
    first, second, third = (bare_session(f"chk_{n}") for n in (1, 2, 3))
    for s in (first, second, third):
        await sessions.save(s, 60)
    Outage(client).down()
    assert await sessions.get(first.id) is None  # pushed out by newer ones
    assert await sessions.get(second.id) == second
    assert await sessions.get(third.id) == third
