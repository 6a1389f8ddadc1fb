"""Degraded modes for when Redis is down: fail-open rate limits and a cache that never fails."""
from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

from redis.exceptions import RedisError

from adapters.metrics import Metrics
from application.ports import Cache, RateLimiter, RateLimitResult

log = logging.getLogger(__name__)
T = TypeVar("T")

#: What "the backend is unavailable" looks like through redis.asyncio.
BACKEND_ERRORS = (RedisError, OSError, TimeoutError)


class _WarnEvery:
    """Logs a warning at most once per ``interval`` seconds per topic (an outage is not log spam)."""

    def __init__(self, interval: float = 30.0) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}

    def __call__(self, topic: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last.get(topic, -self.interval) >= self.interval:
            self._last[topic] = now
            log.warning(message, *args)


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
      warning is logged (at most every 30 s) and ``metrics.rate_limit_fail_open{policy}`` counts it.

    Other exceptions (a bad limit, a bug) propagate.
    """

    def __init__(self, primary: RateLimiter, fallback: RateLimiter, metrics: Metrics,
                 strict_policies: Collection[str] = ()) -> None:
        self.primary = primary
        self.fallback = fallback
        self.metrics = metrics
        self.strict_policies = frozenset(strict_policies)
        self._warn = _WarnEvery()

    async def hit(self, key: str, limit: int, window: float) -> RateLimitResult:
        try:
            return await self.primary.hit(key, limit, window)
        except BACKEND_ERRORS as exc:
            policy = policy_of(key)
            if policy in self.strict_policies:
                self._warn(f"strict:{policy}", "rate limiter backend down (%r): %s limited in-process", exc, policy)
                return await self.fallback.hit(key, limit, window)
            self.metrics.rate_limit_fail_open.labels(policy=policy).inc()
            self._warn(f"open:{policy}", "rate limiter backend down (%r): %s fails open", exc, policy)
            return RateLimitResult(allowed=True, limit=limit, remaining=limit, reset_after=0.0, retry_after=0.0)


class SafeCache:
    """A ``Cache`` whose backend errors become misses and no-ops, counted in
    ``metrics.cache_errors{operation}``: with Redis down every read goes to the database.

    ``get`` -> None, ``set``/``delete`` -> nothing, ``delete_pattern`` -> 0, ``incr`` -> 0.
    A lost ``delete`` means a key may outlive its invalidation until its TTL; that is why every
    cache entry has a TTL and no money decision reads the cache. ``incr`` answering 0 is never a
    value a live counter has, so callers keying entries on it (generation counters) must treat 0
    as "do not cache".
    """

    def __init__(self, cache: Cache, metrics: Metrics) -> None:
        self.cache = cache
        self.metrics = metrics
        self._warn = _WarnEvery()

    async def _safe(self, operation: str, call: Callable[[], Awaitable[T]], default: T) -> T:
        try:
            return await call()
        except BACKEND_ERRORS as exc:
            self.metrics.cache_errors.labels(operation=operation).inc()
            self._warn(operation, "cache backend error on %s (%r): served from origin", operation, exc)
            return default

    async def get(self, key: str) -> bytes | None:
        return await self._safe("get", lambda: self.cache.get(key), None)

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self._safe("set", lambda: self.cache.set(key, value, ttl), None)

    async def delete(self, *keys: str) -> None:
        await self._safe("delete", lambda: self.cache.delete(*keys), None)

    async def delete_pattern(self, pattern: str) -> int:
        return await self._safe("delete_pattern", lambda: self.cache.delete_pattern(pattern), 0)

    async def incr(self, key: str) -> int:
        return await self._safe("incr", lambda: self.cache.incr(key), 0)
