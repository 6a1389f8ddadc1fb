"""Degraded modes for when Redis is down: fail-open rate limits and a cache that never fails."""
from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import TypeVar

from redis.exceptions import RedisError

from adapters.metrics import Metrics
from application.outages import OutageTracker
from application.ports import Cache, RateLimiter, RateLimitResult

log = logging.getLogger(__name__)
T = TypeVar("T")

#: What "the backend is unavailable" looks like through redis.asyncio.
BACKEND_ERRORS = (RedisError, OSError, TimeoutError)


def outage_tracker(metrics: Metrics) -> OutageTracker:
    """Redis outages seen by a fallback: one line down, one line back, a reminder every 30 s."""
    return OutageTracker(log, interval=30.0, on_down=lambda dependency: metrics.dependency_outages.labels(
        dependency=dependency).inc())


def policy_of(key: str) -> str:
    """The policy name of a rate-limit key: everything before its first ``:``."""
    return key.split(":", 1)[0]


class FailOpenRateLimiter:
    """A ``RateLimiter`` that survives its backend.

    The policy name travels in the key: callers build keys as ``"{policy}:{subject}"``
    (``"login:ip:203.0.113.9"``, ``"payment_initiate:user:u_1"``); see ``policy_of``.
    When ``primary`` raises a backend error:

    - a policy in ``strict_policies`` (login, payment initiation...) is decided by ``fallback``,
      an in-process ``MemoryRateLimiter``: per-process, so N processes admit up to N x limit,
      but an attacker cannot brute-force while Redis is down;
    - any other policy fails open: allowed (``remaining = limit``, nothing to wait for), a
      the outage is logged once (and a reminder at most every 30 s) and ``metrics.rate_limit_fail_open{policy}`` counts it.

    Other exceptions (a bad limit, a bug) propagate.
    """

    def __init__(self, primary: RateLimiter, fallback: RateLimiter, metrics: Metrics,
                 strict_policies: Collection[str] = ()) -> None:
        self.primary = primary
        self.fallback = fallback
        self.metrics = metrics
        self.strict_policies = frozenset(strict_policies)
        self.outages = outage_tracker(metrics)

    async def hit(self, key: str, limit: int, window: float) -> RateLimitResult:
        try:
            result = await self.primary.hit(key, limit, window)
        except BACKEND_ERRORS as exc:
            return await self._failed(exc, key, limit, window)
        self.outages.recovered("redis (rate limiter)")
        return result

    async def hit_all(self, hits: Sequence[tuple[str, int, float]]) -> list[RateLimitResult]:
        """One round trip for all of them; when it fails, each is decided as ``hit`` decides a failure."""
        try:
            results = await self.primary.hit_all(hits)
        except BACKEND_ERRORS as exc:
            return [await self._failed(exc, key, limit, window) for key, limit, window in hits]
        self.outages.recovered("redis (rate limiter)")
        return results

    async def _failed(self, exc: BaseException, key: str, limit: int, window: float) -> RateLimitResult:
        policy = policy_of(key)
        if policy in self.strict_policies:
            self.outages.failed("redis (rate limiter)", exc, "strict policies limited in-process")
            return await self.fallback.hit(key, limit, window)
        self.metrics.rate_limit_fail_open.labels(policy=policy).inc()
        self.outages.failed("redis (rate limiter)", exc, "other policies fail open")
        return RateLimitResult(allowed=True, limit=limit, remaining=limit, reset_after=0.0, retry_after=0.0)


class _Fallback:
    """Send each call to ``primary``; on a backend error, count it and use the in-process ``fallback``.

    Degraded, not equivalent: what is written to the fallback lives in this process only, and is
    seen again by reads here (reads try the primary, then the fallback) until it expires.
    """

    def __init__(self, primary, fallback, metrics: Metrics, name: str) -> None:
        self.primary, self.fallback, self.metrics, self.name = primary, fallback, metrics, name
        self.outages = outage_tracker(metrics)

    async def _call(self, operation: str, *args):
        try:
            result = await getattr(self.primary, operation)(*args)
        except BACKEND_ERRORS as exc:
            self.metrics.cache_errors.labels(operation=f"{self.name}.{operation}").inc()
            self.outages.failed(f"redis ({self.name})", exc, "using the in-process fallback")
            return await getattr(self.fallback, operation)(*args)
        self.outages.recovered(f"redis ({self.name})")
        return result

    async def get(self, key: str):
        found = await self._call("get", key)
        return found if found is not None else await self.fallback.get(key)

    async def delete(self, *keys: str) -> None:
        await self.fallback.delete(*keys)
        await self._call("delete", *keys)


class LocalFallbackCache(_Fallback):
    """A ``Cache`` that keeps working in-process while Redis is down (the sandbox gateway's state).

    Writes go through to the in-process copy as well, so that what this process wrote while Redis
    was up is still read while Redis is down and after it came back empty (a sandbox payment begun
    before an outage is approved during it: issue 13's battery).
    """

    def __init__(self, primary: Cache, fallback: Cache, metrics: Metrics) -> None:
        super().__init__(primary, fallback, metrics, "cache")

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self.fallback.set(key, value, ttl)
        await self._call("set", key, value, ttl)

    async def delete_pattern(self, pattern: str) -> int:
        """How many keys matched: in Redis, or in-process while Redis is down (writes go to both)."""
        local = await self.fallback.delete_pattern(pattern)
        return max(local, await self._call("delete_pattern", pattern))

    async def incr(self, key: str) -> int:
        return await self._call("incr", key)

    async def set_if_unchanged(self, key: str, value: bytes, ttl: float, counter: str, expected: bytes) -> bool:
        return await self._call("set_if_unchanged", key, value, ttl, counter, expected)

    async def invalidate(self, keys: Sequence[str], counters: Sequence[str]) -> None:
        await self.fallback.delete(*keys)
        await self._call("invalidate", keys, counters)


class LocalFallbackSessions(_Fallback):
    """A ``CheckoutSessionStore`` that keeps checkouts working in-process while Redis is down."""

    def __init__(self, primary, fallback, metrics: Metrics) -> None:
        super().__init__(primary, fallback, metrics, "sessions")

    async def save(self, session, ttl: float) -> None:
        await self._call("save", session, ttl)
