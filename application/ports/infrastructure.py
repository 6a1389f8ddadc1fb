"""Infrastructure ports: time, ids, secrets, cache, sessions, limits, idempotency, events."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

import attrs

from domain.checkout import CheckoutSession
from domain.events import DomainEvent


class Clock(Protocol):
    """The current time: ``now`` timezone-aware UTC (what is recorded), ``monotonic`` seconds that
    only move forward (what durations and in-process lifetimes are measured with)."""

    def now(self) -> datetime: ...
    def monotonic(self) -> float: ...


class IdGenerator(Protocol):
    """Opaque unique ids (``prefix`` + random) and human-readable order numbers."""

    def new_id(self, prefix: str) -> str: ...
    def order_number(self) -> str: ...


class PasswordHasher(Protocol):
    """A slow, salted KDF whose encoded hashes carry their own parameters. ``verify`` is
    constant-time and never raises on a malformed hash; ``needs_rehash`` is True for a hash made
    with other parameters or another scheme (upgraded at the next successful login)."""

    async def hash(self, password: str) -> str: ...
    async def verify(self, password: str, encoded: str) -> bool: ...
    def needs_rehash(self, encoded: str) -> bool: ...


class TokenIssuer(Protocol):
    """Signs and checks JWTs. ``decode`` raises Unauthorized on anything invalid or expired."""

    #: seconds each kind lives ("access", "refresh"), and a guest's access token
    ttl: dict[str, int]
    guest_ttl: int

    def issue(self, claims: dict[str, Any], kind: Literal["access", "refresh"],
              ttl: int | None = None) -> tuple[str, int]: ...
    def decode(self, token: str, kind: Literal["access", "refresh"]) -> dict[str, Any]: ...


class Cache(Protocol):
    """Byte values with TTLs. Failures raise; callers treat the cache as optional."""

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl: float) -> None: ...
    async def delete(self, *keys: str) -> None: ...
    async def delete_pattern(self, pattern: str) -> int: ...
    async def incr(self, key: str) -> int: ...
    async def invalidate(self, keys: Sequence[str], counters: Sequence[str]) -> None:
        """``incr`` every counter, then ``delete`` every key: one round trip where the backend allows."""
        ...
    async def set_if_unchanged(self, key: str, value: bytes, ttl: float, counter: str, expected: bytes) -> bool:
        """``set`` only if ``counter`` still reads ``expected`` (an unset counter reads b"0"), in one
        atomic step: a fill never lands after the invalidation that made it stale. True if stored."""
        ...


class CheckoutSessionStore(Protocol):
    """Checkout sessions with a TTL refreshed on every save; ``get`` returns None once expired."""

    async def get(self, checkout_id: str) -> CheckoutSession | None: ...
    async def save(self, session: CheckoutSession, ttl: float) -> None: ...
    async def delete(self, checkout_id: str) -> None: ...


@attrs.frozen
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float


class RateLimiter(Protocol):
    """Counts one hit for ``key`` against ``limit`` per ``window`` seconds, atomically."""

    async def hit(self, key: str, limit: int, window: float) -> RateLimitResult: ...

    async def hit_all(self, hits: Sequence[tuple[str, int, float]]) -> list[RateLimitResult]:
        """``hit`` for each ``(key, limit, window)``, every one counted, in one round trip where the
        backend allows (one per hit otherwise)."""
        ...


@attrs.frozen
class StoredResponse:
    status: int
    content_type: str
    body: bytes


@attrs.frozen
class IdempotencyBegin:
    """``state``: new (you own the key now), replay (``response`` is stored), in_flight (another
    request holds it), mismatch (same key, different request)."""

    state: Literal["new", "replay", "in_flight", "mismatch"]
    response: StoredResponse | None = None
    recovery_point: str | None = None


class IdempotencyStore(Protocol):
    """Idempotency keys per scope (caller). A key held longer than ``lock_timeout`` may be taken
    over (its holder died); the holder of a request that runs longer calls ``extend``."""

    async def begin(self, scope: str, key: str, fingerprint: str, lock_timeout: float) -> IdempotencyBegin: ...
    async def extend(self, scope: str, key: str) -> None:
        """The key's holder is still running: its lock starts again from now."""
        ...
    async def set_recovery_point(self, scope: str, key: str, point: str) -> None: ...
    async def complete(self, scope: str, key: str, response: StoredResponse) -> None: ...
    def complete_with(self, uow: Any, scope: str, key: str, response: StoredResponse) -> None:
        """Store the answer with ``uow``'s commit (in its transaction where the store shares the
        database): never stored if it rolls back. Staged, not sent: call it before the commit."""
        ...
    async def release(self, scope: str, key: str) -> None: ...


EventHandler = Callable[[DomainEvent], Awaitable[None]]


class EventBus(Protocol):
    """Publish/subscribe for domain events. A failing handler never fails the publisher."""

    async def publish(self, event: DomainEvent) -> None: ...
    def subscribe(self, event_type: type[DomainEvent], handler: EventHandler) -> None: ...
    def delivers(self, event: DomainEvent) -> bool:
        """False when publishing ``event`` would reach nobody (an in-process bus where nothing
        subscribed to it): the outbox then records it as already published."""
        ...


class WebhookDedup(Protocol):
    """A fast path in front of the inbox's unique (gateway, event_id). ``claim`` claims an event
    atomically: "new" (the first delivery: go on and store it), "stored" (a duplicate of an event
    already in the inbox), "in_flight" (claimed by a delivery not yet stored: it may still fail, so
    the gateway must be told to retry, never acknowledged). Optional: the inbox decides."""

    async def claim(self, gateway: str, event_id: str) -> Literal["new", "in_flight", "stored"]: ...
    async def confirm(self, gateway: str, event_id: str) -> None: ...
    async def forget(self, gateway: str, event_id: str) -> None: ...


@attrs.frozen
class FraudDecision:
    """``allow``: go on to the gateway. ``review``: hold the payment for a person before any gateway
    call (``allow`` is then False). Neither: refuse it. ``reasons`` are recorded with the decision."""

    allow: bool
    reasons: tuple[str, ...] = ()
    review: bool = False


class FraudChecker(Protocol):
    """Rules run before a payment is initiated, on what is known of the attempt: who (``user_id``;
    ``guest_id`` for a guest, a device identity with no account), the amount, the e-mail, the
    caller's ``client_ip``, the billing ``country`` given, our payment ``reference`` (to match the
    attempt with its outcome) and the order's event ``context`` (for the event of a blocked one).
    Everything after ``email`` is optional: a checker uses what it is given."""

    async def assess(self, *, user_id: str, amount: int, currency: str, email: str | None,
                     client_ip: str | None = None, country: str | None = None, guest_id: str | None = None,
                     reference: str | None = None, context: Any = None) -> FraudDecision: ...


class Notifier(Protocol):
    """Out-of-app delivery of a notification (email, push...). In-app ones are stored regardless."""

    async def send(self, *, user_id: str, kind: str, title: str, body: str) -> None: ...
