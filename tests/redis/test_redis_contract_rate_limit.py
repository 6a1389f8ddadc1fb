"""RateLimiter contract (MemoryRateLimiter and RedisRateLimiter), plus cross-process concurrency."""
from __future__ import annotations

import asyncio

import pytest

from adapters.memory.infrastructure import MemoryRateLimiter
from adapters.metrics import Metrics
from adapters.redis import FailOpenRateLimiter, RedisRateLimiter
from adapters.system import SystemClock

EPS = 1e-3  # MemoryRateLimiter computes in float epoch seconds: sub-microsecond rounding
@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis),
                        pytest.param("failopen", marks=pytest.mark.redis)])
def kind(request) -> str:
    """Memory, Redis, and the limiter production wires in front of Redis (FailOpenRateLimiter)."""
    return request.param


@pytest.fixture
def limiter(kind, harness, request, prefix):
    if kind == "memory":
        return MemoryRateLimiter(harness.clock)
    redis = RedisRateLimiter(request.getfixturevalue("redis_client"), prefix)
    if kind == "redis":
        return redis
    return FailOpenRateLimiter(redis, MemoryRateLimiter(SystemClock()), Metrics(), strict_policies=("login",))


async def test_burst_allows_exactly_limit_then_refuses(limiter):
    results = [await limiter.hit("checkout_initiate:user:u1", 5, 60) for _ in range(5)]
    assert [r.allowed for r in results] == [True] * 5
    assert [r.remaining for r in results] == [4, 3, 2, 1, 0]
    assert all(r.limit == 5 and r.retry_after == 0 for r in results)
    resets = [r.reset_after for r in results]
    assert resets == sorted(resets) and 0 < resets[0] <= 12 + EPS and 59 < resets[-1] <= 60 + EPS

    refused = await limiter.hit("checkout_initiate:user:u1", 5, 60)
    assert not refused.allowed
    assert refused.limit == 5 and refused.remaining == 0
    assert 11 < refused.retry_after <= 12 + EPS  # one emission interval (60 s / 5)
    assert 59 < refused.reset_after <= 60 + EPS
    again = await limiter.hit("checkout_initiate:user:u1", 5, 60)
    assert not again.allowed and again.retry_after <= refused.retry_after  # refusals cost nothing


async def test_keys_are_independent(limiter):
    assert (await limiter.hit("login:email:a@x.io", 1, 60)).allowed
    assert not (await limiter.hit("login:email:a@x.io", 1, 60)).allowed
    assert (await limiter.hit("login:email:b@x.io", 1, 60)).allowed


async def test_allowance_comes_back_one_interval_at_a_time(limiter, harness, kind, request):
    key = "shipping:ip:203.0.113.9"
    assert (await limiter.hit(key, 2, 0.4)).allowed
    assert (await limiter.hit(key, 2, 0.4)).allowed
    refused = await limiter.hit(key, 2, 0.4)
    assert not refused.allowed and 0 < refused.retry_after <= 0.2 + EPS
    await harness.advance(0.25)
    assert (await limiter.hit(key, 2, 0.4)).allowed
    assert not (await limiter.hit(key, 2, 0.4)).allowed
    await harness.advance(0.45)
    result = await limiter.hit(key, 2, 0.4)
    assert result.allowed and result.remaining == 1


async def test_fractional_windows_and_uneven_intervals(limiter, kind, request):
    results = [await limiter.hit("coupon:user:u1", 7, 61.5) for _ in range(8)]
    assert sum(r.allowed for r in results) == 7
    assert [r.remaining for r in results[:7]] == [6, 5, 4, 3, 2, 1, 0]
    assert 0 < results[7].retry_after <= 61.5 / 7 + EPS


async def test_concurrent_hits_from_four_processes_allow_exactly_limit(client_factory, prefix):
    limiters = [RedisRateLimiter(await client_factory(), prefix) for _ in range(4)]
    results = await asyncio.gather(*(limiters[i % 4].hit("payment_initiate:user:u1", 10, 60) for i in range(200)))
    allowed = [r for r in results if r.allowed]
    assert len(allowed) == 10
    assert sorted(r.remaining for r in allowed) == list(range(10))
    assert all(r.retry_after > 0 for r in results if not r.allowed)


async def test_state_is_one_key_that_expires_when_the_allowance_is_full(redis_client, prefix):
    limiter = RedisRateLimiter(redis_client, prefix)
    await limiter.hit("login:ip:1.2.3.4", 5, 60)
    assert await redis_client.keys(f"{prefix}*") == [f"{prefix}ratelimit:login:ip:1.2.3.4".encode()]
    assert 11_000 < await redis_client.pttl(f"{prefix}ratelimit:login:ip:1.2.3.4") <= 12_000


async def test_script_is_reloaded_after_a_script_flush(redis_client, prefix):
    limiter = RedisRateLimiter(redis_client, prefix)
    assert (await limiter.hit("k", 2, 60)).allowed
    await redis_client.script_flush()
    assert (await limiter.hit("k", 2, 60)).remaining == 0


async def test_nonsense_limits_are_refused(redis_client, prefix):
    limiter = RedisRateLimiter(redis_client, prefix)
    with pytest.raises(ValueError):
        await limiter.hit("k", 0, 60)
    with pytest.raises(ValueError):
        await limiter.hit("k", 5, 0)


async def test_hit_all_counts_every_hit_as_hit_does(limiter):
    """One round trip for a route's policies (issue 20): each key counted once per call, in order,
    a refusal by one not stopping the count of the others; the same answers as hits one by one."""
    hits = [("checkout_initiate:user:u9", 2, 60), ("checkout_initiate_ip:ip:203.0.113.9", 3, 60)]
    rounds = [await limiter.hit_all(hits) for _ in range(3)]
    assert [[r.allowed for r in answers] for answers in rounds] == [[True, True], [True, True], [False, True]]
    assert [answers[1].remaining for answers in rounds] == [2, 1, 0]
    assert not (await limiter.hit("checkout_initiate_ip:ip:203.0.113.9", 3, 60)).allowed


@pytest.mark.redis
async def test_hit_all_after_redis_forgot_the_script_loads_it_and_counts_once(redis_client, prefix):
    limiter = RedisRateLimiter(redis_client, prefix)
    await limiter.hit("order_create:user:u1", 5, 60)
    limiter._script.sha = "0" * 40  # a script Redis does not hold (as after a restart), without flushing theirs
    answers = await limiter.hit_all([("order_create:user:u1", 5, 60), ("order_create_ip:ip:1", 5, 60)])
    assert [(r.allowed, r.remaining) for r in answers] == [(True, 3), (True, 4)]
