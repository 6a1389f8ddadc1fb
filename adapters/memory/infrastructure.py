"""Memory adapters for cache, checkout sessions, rate limits, idempotency, events, fraud and notices."""
from __future__ import annotations

import fnmatch
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from adapters.memory.clone import clone
from application.ports import (
    Clock,
    EventHandler,
    FraudDecision,
    IdempotencyBegin,
    RateLimitResult,
    StoredResponse,
)
from domain.checkout import CheckoutSession
from domain.events import DomainEvent

log = logging.getLogger(__name__)


class MemoryCache:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._data: dict[str, tuple[bytes, float]] = {}

    def _now(self) -> float:
        return self.clock.now().timestamp()

    async def get(self, key: str) -> bytes | None:
        return self.peek(key)

    def peek(self, key: str, absent: bytes | None = None) -> bytes | None:
        """What ``get`` answers, without a coroutine (this cache is the whole store: a key it does
        not hold is known to be absent)."""
        hit = self._data.get(key)
        if hit is None:
            return absent
        if hit[1] <= self._now():
            self._data.pop(key, None)
            return absent
        return hit[0]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._data[key] = (value, self._now() + ttl)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._data.pop(key, None)

    async def delete_pattern(self, pattern: str) -> int:
        doomed = [k for k in self._data if fnmatch.fnmatchcase(k, pattern)]
        for key in doomed:
            del self._data[key]
        return len(doomed)

    async def incr(self, key: str) -> int:
        value = int((await self.get(key)) or b"0") + 1
        self._data[key] = (str(value).encode(), self._now() + 86400)
        return value

    async def invalidate(self, keys: Sequence[str], counters: Sequence[str]) -> None:
        for counter in counters:
            await self.incr(counter)
        await self.delete(*keys)

    async def set_if_unchanged(self, key: str, value: bytes, ttl: float, counter: str, expected: bytes) -> bool:
        if ttl <= 0 or (self.peek(counter) or b"0") != expected:  # no await between the check and the write
            return False
        await self.set(key, value, ttl)
        return True


class MemoryCheckoutSessionStore:
    """Sessions kept as copies (a caller's later changes never reach them). ``encode``/``decode``:
    an exact round trip to bytes (the Redis codec), cheaper than ``copy.deepcopy`` of the session's
    lines; without them, ``clone`` copies."""

    def __init__(self, clock: Clock, encode: Callable[[CheckoutSession], Any] = clone,
                 decode: Callable[[Any], CheckoutSession] = clone) -> None:
        self.clock, self.encode, self.decode = clock, encode, decode
        self._sessions: dict[str, tuple[Any, float]] = {}

    async def get(self, checkout_id: str) -> CheckoutSession | None:
        hit = self._sessions.get(checkout_id)
        if hit is None:
            return None
        if hit[1] <= self.clock.now().timestamp():
            self._sessions.pop(checkout_id, None)
            return None
        return self.decode(hit[0])

    async def save(self, session: CheckoutSession, ttl: float) -> None:
        await self.save_encoded(session.id, self.encode(session), ttl)

    async def save_encoded(self, checkout_id: str, encoded: Any, ttl: float) -> None:
        """``save`` of a session already encoded by ``encode``."""
        self._sessions[checkout_id] = (encoded, self.clock.now().timestamp() + ttl)

    async def delete(self, checkout_id: str) -> None:
        self._sessions.pop(checkout_id, None)


class MemoryRateLimiter:
    """GCRA (generic cell rate algorithm): one timestamp per key, exact and O(1).

    Arithmetic is in whole microseconds, like the Redis script, so limits whose interval is not a
    binary fraction (0.4 s / 2) still allow exactly ``limit`` in a burst.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._tat: dict[str, int] = {}

    async def hit(self, key: str, limit: int, window: float) -> RateLimitResult:
        now = round(self.clock.now().timestamp() * 1e6)
        period = round(window * 1e6)
        interval = max(1, period // limit)
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + interval
        allow_at = new_tat - period
        if allow_at > now:
            return RateLimitResult(False, limit, 0, (tat - now) / 1e6, (allow_at - now) / 1e6)
        self._tat[key] = new_tat
        remaining = (period - (new_tat - now)) // interval
        return RateLimitResult(True, limit, max(remaining, 0), (new_tat - now) / 1e6, 0.0)

    async def hit_all(self, hits: Sequence[tuple[str, int, float]]) -> list[RateLimitResult]:
        return [await self.hit(key, limit, window) for key, limit, window in hits]


class MemoryIdempotencyStore:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._records: dict[tuple[str, str], dict] = {}

    async def begin(self, scope: str, key: str, fingerprint: str, lock_timeout: float) -> IdempotencyBegin:
        now = self.clock.now().timestamp()
        record = self._records.get((scope, key))
        if record is None:
            self._records[(scope, key)] = {"fp": fingerprint, "locked_at": now, "response": None, "point": None}
            return IdempotencyBegin("new")
        if record["fp"] != fingerprint:
            return IdempotencyBegin("mismatch")
        if record["response"] is not None:
            return IdempotencyBegin("replay", record["response"])
        if record["locked_at"] is not None and now - record["locked_at"] < lock_timeout:
            return IdempotencyBegin("in_flight")
        record["locked_at"] = now  # the holder died or released it: take over from its recovery point
        return IdempotencyBegin("new", recovery_point=record["point"])

    async def set_recovery_point(self, scope: str, key: str, point: str) -> None:
        self._records[(scope, key)]["point"] = point

    async def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        record = self._records[(scope, key)]
        record["response"], record["locked_at"] = response, None

    def complete_with(self, uow, scope: str, key: str, response: StoredResponse) -> None:
        uow.after_commit(lambda: self.complete(scope, key, response))

    async def release(self, scope: str, key: str) -> None:
        record = self._records.get((scope, key))
        if record is not None:
            record["locked_at"] = None

    async def extend(self, scope: str, key: str) -> None:
        record = self._records.get((scope, key))
        if record is not None and record["locked_at"] is not None and record["response"] is None:
            record["locked_at"] = self.clock.now().timestamp()


class InMemoryEventBus:
    """Calls subscribers in-process, in order; a failing handler is logged and counted, never raised."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[EventHandler]] = defaultdict(list)
        self.failures = 0

    def subscribe(self, event_type: type[DomainEvent], handler: EventHandler) -> None:
        self._handlers[event_type].append(handler)

    def delivers(self, event: DomainEvent) -> bool:
        return any(isinstance(event, event_type) and handlers for event_type, handlers in self._handlers.items())

    async def publish(self, event: DomainEvent) -> None:
        for event_type, handlers in list(self._handlers.items()):
            if isinstance(event, event_type):
                for handler in handlers:
                    try:
                        await handler(event)
                    except Exception:
                        self.failures += 1
                        log.exception("event handler failed for %s", event.name)


class NoWebhookDedup:
    """No fast path: every delivery goes to the inbox, whose unique constraint deduplicates."""

    async def claim(self, gateway: str, event_id: str) -> str:
        return "new"

    async def confirm(self, gateway: str, event_id: str) -> None:
        return None

    async def forget(self, gateway: str, event_id: str) -> None:
        return None


class RuleFraudChecker:
    """Refuses payments above a per-currency cap (minor units); a real scorer plugs in here."""

    def __init__(self, max_amount: dict[str, int]) -> None:
        self.max_amount = max_amount

    async def assess(self, *, user_id: str, amount: int, currency: str, email: str | None,
                     **_more: object) -> FraudDecision:
        cap = self.max_amount.get(currency)
        if cap is not None and amount > cap:
            return FraudDecision(False, (f"amount above the {currency} limit of {cap}",))
        return FraudDecision(True)


class LogNotifier:
    """Writes out-of-app notifications to the log (and keeps them, for tests)."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send(self, *, user_id: str, kind: str, title: str, body: str) -> None:
        self.sent.append({"user_id": user_id, "kind": kind, "title": title})
        log.info("notify user=%s kind=%s title=%s", user_id, kind, title)
