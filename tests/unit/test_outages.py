"""A dependency outage is logged once per transition (down, back), counted, and reminded of at
most every interval: 1,000 requests through a dead Redis write O(1) lines and no traceback."""
from __future__ import annotations

import logging

from redis.exceptions import ConnectionError as RedisConnectionError

from adapters.memory.infrastructure import MemoryCache, MemoryRateLimiter
from adapters.metrics import Metrics
from adapters.redis import FailOpenRateLimiter, LocalFallbackCache
from adapters.system import FakeClock
from application.outages import OutageTracker


class Switchable:
    """A primary that answers like the in-process one while up and raises like redis-py while down."""

    def __init__(self, inner) -> None:
        self.inner, self.down = inner, False

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        async def call(*args):
            if self.down:
                raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            return await method(*args)
        return call


def outages(metrics: Metrics, dependency: str) -> float:
    return metrics.registry.get_sample_value("payport_dependency_outages_total", {"dependency": dependency}) or 0.0


async def test_a_thousand_requests_through_an_outage_log_one_line_each_way(caplog):
    clock, metrics = FakeClock(), Metrics()
    limiter_primary, cache_primary = Switchable(MemoryRateLimiter(clock)), Switchable(MemoryCache(clock))
    limiter = FailOpenRateLimiter(limiter_primary, MemoryRateLimiter(clock), metrics, {"login"})
    cache = LocalFallbackCache(cache_primary, MemoryCache(clock), metrics)
    caplog.set_level(logging.DEBUG)

    async def request(n: int) -> None:
        assert (await limiter.hit(f"checkout_initiate:user:u{n}", 10, 60)).allowed
        assert (await limiter.hit(f"login:ip:{n}", 10, 60)).allowed
        await cache.set(f"k{n}", b"v", 60)
        assert await cache.get(f"k{n}") == b"v"

    for n in range(10):
        await request(n)
    assert caplog.records == []
    limiter_primary.down = cache_primary.down = True
    for n in range(1000):
        await request(n)  # every request still served: fail-open, in-process fallbacks
    during = list(caplog.records)
    limiter_primary.down = cache_primary.down = False
    for n in range(10):
        await request(n)

    assert len(during) == 2, [r.getMessage() for r in during]  # one "down" per fallback, not 4,000
    assert all(r.levelno == logging.ERROR and "dependency down" in r.getMessage() for r in during)
    back = caplog.records[len(during):]
    assert sorted(r.getMessage().split(" after")[0] for r in back) == [
        "dependency back: redis (cache)", "dependency back: redis (rate limiter)"]
    assert all(r.exc_info is None for r in caplog.records)  # no traceback per request
    assert outages(metrics, "redis (rate limiter)") == outages(metrics, "redis (cache)") == 1
    assert metrics.registry.get_sample_value("payport_rate_limit_fail_open_total",
                                             {"policy": "checkout_initiate"}) == 1000


def test_reminders_are_rate_limited_and_say_how_much_was_not_logged(caplog):
    now = [0.0]
    down = []
    tracker = OutageTracker(logging.getLogger("payport.test"), interval=30.0, on_down=down.append,
                            clock=lambda: now[0])
    caplog.set_level(logging.DEBUG)
    for _ in range(100):  # 100 failures a second for 95 seconds
        for _ in range(100):
            tracker.failed("postgres", OSError("connection refused"))
        now[0] += 1
        if now[0] > 95:
            break
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4  # down at 0 s, reminders at 30, 60 and 90 s
    assert messages[0] == "dependency down: postgres (OSError: connection refused)"
    assert messages[1].startswith("dependency still down: postgres for 30s, 2999 failures not logged")
    assert down == ["postgres"]
    tracker.recovered("postgres")
    tracker.recovered("postgres")  # a second success is not a transition
    assert caplog.records[-1].getMessage() == "dependency back: postgres after 96.0s and 9600 failures"
    assert len(caplog.records) == 5
    tracker.failed("postgres", OSError("again"))
    assert down == ["postgres", "postgres"] and not tracker.is_down("redis") and tracker.is_down("postgres")
