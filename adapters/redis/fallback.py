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


def outage_tracker(metrics: Metrics | None, logger: logging.Logger = log) -> OutageTracker:
    """Redis outages seen by a fallback (or the event bus): one line down, one line back, a
    reminder every 30 s; counted in ``metrics.dependency_outages`` when there are metrics."""
    if metrics is None:
        return OutageTracker(logger, interval=30.0)
    return OutageTracker(logger, interval=30.0, on_down=lambda dependency: metrics.dependency_outages.labels(
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
    """A ``CheckoutSessionStore`` that keeps checkouts going across a Redis outage.

    Every save writes through to an in-process copy as well. While Redis answers, Redis is the
    truth: a checkout it no longer holds (confirmed or deleted by another process, or expired)
    is dropped here too, so a stale local copy never comes back. When Redis fails, every local
    copy this process holds becomes *unsynced*: it is served while Redis is down, and on the
    first read once Redis answers again it is written back (Redis may have come back empty), and
    a delete made during the outage is applied. So a checkout begun before an outage can be
    finished during it and after Redis returned empty, in the process that served it (issue 13's
    battery). Across processes during an outage each process serves its own last copy; a checkout
    confirmed twice that way still makes one order (``orders.checkout_id`` is unique).
    At most ``max_local`` copies are kept (the least recently saved go first): an abandoned
    checkout costs memory here only until newer ones push it out.
    """

    def __init__(self, primary, fallback, metrics: Metrics, max_local: int = 10_000) -> None:
        super().__init__(primary, fallback, metrics, "sessions")
        self.max_local = max_local
        self._ttls: dict[str, float] = {}  # the local copies this process holds -> their last TTL, oldest first
        self._unsynced: dict[str, float | None] = {}  # to write back: a TTL to save, None to delete
        self._down = False

    def _failed(self, operation: str, exc: BaseException) -> None:
        self.metrics.cache_errors.labels(operation=f"{self.name}.{operation}").inc()
        self.outages.failed(f"redis ({self.name})", exc, "using the in-process copies")
        if not self._down:  # what Redis holds may be gone when it comes back
            self._down = True
            for checkout_id, ttl in self._ttls.items():
                self._unsynced.setdefault(checkout_id, ttl)

    def _up(self) -> None:
        self._down = False
        self.outages.recovered(f"redis ({self.name})")

    async def save(self, session, ttl: float) -> None:
        # encoded once for both stores when they store it alike (the wiring's: the Redis codec)
        encode = getattr(self.primary, "encode", None)
        raw = encode(session) if encode is not None and encode is getattr(self.fallback, "encode", None) else None
        if raw is None:
            await self.fallback.save(session, ttl)
        else:
            await self.fallback.save_encoded(session.id, raw, ttl)
        self._ttls.pop(session.id, None)
        self._ttls[session.id] = ttl
        while len(self._ttls) > self.max_local:
            oldest = next(iter(self._ttls))
            del self._ttls[oldest]
            if oldest not in self._unsynced:  # an unsynced copy is the only one: keep it until written back
                await self.fallback.delete(oldest)
        try:
            await (self.primary.save(session, ttl) if raw is None else self.primary.save_encoded(session.id, raw, ttl))
        except BACKEND_ERRORS as exc:
            self._failed("save", exc)
            self._unsynced[session.id] = ttl
            return
        self._up()
        self._unsynced.pop(session.id, None)

    async def delete(self, checkout_id: str) -> None:
        await self.fallback.delete(checkout_id)
        self._ttls.pop(checkout_id, None)
        try:
            await self.primary.delete(checkout_id)
        except BACKEND_ERRORS as exc:
            self._failed("delete", exc)
            self._unsynced[checkout_id] = None
            return
        self._up()
        self._unsynced.pop(checkout_id, None)

    async def get(self, checkout_id: str):
        try:
            found = await self.primary.get(checkout_id)
            if checkout_id in self._unsynced:
                found = await self._write_back(checkout_id, found)
        except BACKEND_ERRORS as exc:
            self._failed("get", exc)
            return await self.fallback.get(checkout_id)
        self._up()
        if found is None:
            await self.fallback.delete(checkout_id)
            self._ttls.pop(checkout_id, None)
        return found

    async def _write_back(self, checkout_id: str, found):
        """Redis answers again: apply what this process did to ``checkout_id`` while it was down."""
        ttl = self._unsynced[checkout_id]
        local = await self.fallback.get(checkout_id) if ttl is not None else None
        if ttl is None:
            await self.primary.delete(checkout_id)
            found = None
        elif local is not None:
            await self.primary.save(local, ttl)
            found = local
        del self._unsynced[checkout_id]
        return found
