"""The durable delivery queue: messages that must reach the outside world at least once
(merchant webhooks, e-mail, cache-invalidation replays), whatever the channel.

A delivery is enqueued in the unit of work of the change that caused it (``uow.deliveries``), so
it exists exactly when the change committed. A dispatcher then claims due rows in a short
transaction of its own (``FOR UPDATE SKIP LOCKED`` on Postgres), which counts the attempt and
leases the row (its ``next_attempt_at`` moves past the send's deadline, so a dispatcher that dies
mid-send only delays it), sends outside any transaction, and records the outcome: delivered,
rescheduled with exponential backoff and jitter, or dead after ``max_attempts``. Each attempt is
logged. The attempt number doubles as the claim: an outcome recorded under a lease that ran out
(another dispatcher claimed the row since) is logged but moves nothing.
"""
from __future__ import annotations

import enum
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import attrs

#: Attempts before a delivery is given up (dead).
MAX_ATTEMPTS = 10
#: How many characters of an error or a response are kept.
DETAIL_LIMIT = 1000


class DeliveryStatus(enum.Enum):
    PENDING = "pending"  # never attempted
    DELIVERED = "delivered"
    FAILED = "failed"  # the last attempt failed; another is scheduled
    DEAD = "dead"  # given up: out of attempts, or refused for good


#: Statuses a dispatcher may still claim.
DUE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


@attrs.define
class Delivery:
    id: str
    channel: str
    #: unique per channel: enqueueing the same message twice keeps the first
    dedup_key: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None = None

    @classmethod
    def new(cls, id: str, channel: str, dedup_key: str, payload: dict[str, Any], now: datetime,
            max_attempts: int = MAX_ATTEMPTS) -> Delivery:
        return cls(id, channel, dedup_key, payload, DeliveryStatus.PENDING, 0, max_attempts, now, None, now, now)


@attrs.frozen
class DeliveryOutcome:
    """What one send achieved. ``retry=False``: the receiver refused for good (no more attempts).
    ``retry_after``: seconds to the next attempt, when the channel keeps its own schedule."""

    delivered: bool
    status_code: int | None = None
    detail: str | None = None
    retry: bool = True
    retry_after: float | None = None

    @classmethod
    def ok(cls, status_code: int | None = None, detail: str | None = None) -> DeliveryOutcome:
        return cls(True, status_code, detail)

    @classmethod
    def failed(cls, detail: str, status_code: int | None = None, retry: bool = True,
               retry_after: float | None = None) -> DeliveryOutcome:
        return cls(False, status_code, detail, retry, retry_after)


@attrs.frozen
class DeliveryAttempt:
    delivery_id: str
    attempt: int
    started_at: datetime
    duration_ms: int
    #: the status the attempt left the delivery in (delivered, failed or dead)
    outcome: DeliveryStatus
    status_code: int | None
    detail: str | None


#: A channel's sender: one attempt at delivering; an exception counts as a failed attempt.
Sender = Callable[[Delivery], Awaitable[DeliveryOutcome]]


def backoff(attempt: int, base: float = 5.0, cap: float = 3600.0, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the attempt after ``attempt`` (1-based): doubling from ``base`` up to ``cap``,
    the second half of the interval drawn at random so that failed rows do not come back together."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return ceiling / 2 + rand() * ceiling / 2


def settle(delivery: Delivery, outcome: DeliveryOutcome, now: datetime,
           delay: Callable[[int], float] = backoff) -> tuple[DeliveryStatus, datetime, str | None]:
    """Where ``outcome`` leaves ``delivery`` (whose ``attempts`` counts this attempt): its status,
    next attempt time and last error. Shared by the adapters, so they decide alike."""
    if outcome.delivered:
        return DeliveryStatus.DELIVERED, now, None
    error = clip(outcome.detail) or "failed"
    if not outcome.retry or delivery.attempts >= delivery.max_attempts:
        return DeliveryStatus.DEAD, now, error
    seconds = outcome.retry_after if outcome.retry_after is not None else delay(delivery.attempts)
    return DeliveryStatus.FAILED, now + timedelta(seconds=seconds), error


def clip(text: str | None) -> str | None:
    return text[:DETAIL_LIMIT] if text else text


class DeliveryRepository(Protocol):
    """``uow.deliveries``: deliveries written in the unit of work's transaction."""

    async def enqueue(self, delivery: Delivery) -> None:
        """Store ``delivery`` with the commit; a second one with the same (channel, dedup key) is ignored."""
        ...


class DeliveryQueue(Protocol):
    """The dispatchers' side: claim due deliveries, record each attempt."""

    async def claim(self, channels: Sequence[str], *, limit: int, lease_seconds: float) -> list[Delivery]:
        """Up to ``limit`` due deliveries of ``channels`` (earliest due first), none of them claimed
        by anyone else: each one's ``attempts`` counts the new attempt and its next attempt moves
        ``lease_seconds`` ahead, in a transaction of its own that is over when this returns.
        Rows out of attempts whose last lease ran out are marked dead."""
        ...

    async def record(self, delivery: Delivery, outcome: DeliveryOutcome, *, started_at: datetime,
                     duration_ms: int) -> DeliveryStatus | None:
        """Log the attempt ``delivery.attempts`` and move the delivery (see ``settle``); the new
        status, or None when the claim had run out and another dispatcher holds the row now."""
        ...

    async def get(self, delivery_id: str) -> Delivery | None: ...

    async def attempts(self, delivery_id: str) -> list[DeliveryAttempt]:
        """The delivery's attempt log, oldest first."""
        ...


SenderRegistry = Mapping[str, Sender]
