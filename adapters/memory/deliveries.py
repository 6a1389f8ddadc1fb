"""Memory delivery queue (same contract as Postgres): the repository writes through the unit of
work; the queue works on the committed rows under the store's lock (the memory row lock)."""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import timedelta

from adapters.memory.session import MemorySession
from adapters.memory.store import MemoryStore
from application.ports import Clock
from application.ports.deliveries import (
    DUE_STATUSES,
    Delivery,
    DeliveryAttempt,
    DeliveryOutcome,
    DeliveryStatus,
    backoff,
    clip,
    settle,
)

TABLE, ATTEMPTS = "deliveries", "delivery_attempts"
LAST_LEASE_RAN_OUT = "no outcome recorded for the last attempt (its lease ran out)"


class MemoryDeliveries:
    """``uow.deliveries``: writes through the unit of work's session (applied at its commit)."""

    def __init__(self, session: MemorySession) -> None:
        self.uow = session

    async def enqueue(self, delivery: Delivery) -> None:
        same = self.uow.keys_where(TABLE, lambda d: d.channel == delivery.channel
                                   and d.dedup_key == delivery.dedup_key)
        if not same and self.uow.read(TABLE, delivery.id) is None:
            self.uow.write(TABLE, delivery.id, delivery, new=True)


class MemoryDeliveryQueue:
    def __init__(self, store: MemoryStore, clock: Clock, delay: Callable[[int], float] = backoff) -> None:
        self.store, self.clock, self.delay = store, clock, delay
        self.rows: dict[str, Delivery] = store.tables.setdefault(TABLE, {})
        self.log: dict[str, DeliveryAttempt] = store.tables.setdefault(ATTEMPTS, {})

    async def claim(self, channels: Sequence[str], *, limit: int, lease_seconds: float) -> list[Delivery]:
        now = self.clock.now()
        claimed = []
        async with self.store.lock:
            due = sorted((d for d in self.rows.values() if d is not None and d.channel in channels
                          and d.status in DUE_STATUSES and d.next_attempt_at <= now),
                         key=lambda d: (d.next_attempt_at, d.id))
            for row in due:
                if row.attempts >= row.max_attempts:
                    row.status, row.last_error, row.updated_at = DeliveryStatus.DEAD, LAST_LEASE_RAN_OUT, now
                elif len(claimed) < limit:
                    row.attempts += 1
                    row.next_attempt_at, row.updated_at = now + timedelta(seconds=lease_seconds), now
                    claimed.append(copy.deepcopy(row))
        return claimed

    async def record(self, delivery: Delivery, outcome: DeliveryOutcome, *, started_at, duration_ms: int,
                     ) -> DeliveryStatus | None:
        now = self.clock.now()
        status, next_attempt_at, error = settle(delivery, outcome, now, self.delay)
        async with self.store.lock:
            self.log[f"{delivery.id}#{delivery.attempts}"] = DeliveryAttempt(
                delivery.id, delivery.attempts, started_at, duration_ms, status, outcome.status_code,
                clip(outcome.detail))
            row = self.rows.get(delivery.id)
            if row is None or row.attempts != delivery.attempts or row.status not in DUE_STATUSES:
                return None  # the lease ran out: another dispatcher holds the row now
            row.status, row.next_attempt_at, row.last_error, row.updated_at = status, next_attempt_at, error, now
            if status is DeliveryStatus.DELIVERED:
                row.delivered_at = now
        return status

    async def get(self, delivery_id: str) -> Delivery | None:
        row = self.rows.get(delivery_id)
        return copy.deepcopy(row) if row is not None else None

    async def attempts(self, delivery_id: str) -> list[DeliveryAttempt]:
        return sorted((a for a in self.log.values() if a.delivery_id == delivery_id), key=lambda a: a.attempt)


REPOSITORIES = {"deliveries": MemoryDeliveries}
