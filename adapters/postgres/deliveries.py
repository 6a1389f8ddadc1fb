"""Postgres delivery queue (tables in migration 0004). The repository writes through the unit of
work (``defer``: the row goes with the COMMIT); the queue claims with one autocommit statement
(``FOR UPDATE SKIP LOCKED``), so no transaction stays open while a dispatcher sends."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import aiopg

from adapters.postgres import db
from adapters.postgres.mapping import Table
from adapters.postgres.session import PostgresSession
from application.ports import Clock
from application.ports.deliveries import (
    Delivery,
    DeliveryAttempt,
    DeliveryOutcome,
    DeliveryStatus,
    backoff,
    clip,
    settle,
)

DELIVERIES = Table("deliveries", Delivery, "id", tuple(f.name for f in Delivery.__attrs_attrs__),
                   {"status": DeliveryStatus})
ATTEMPTS = Table("delivery_attempts", DeliveryAttempt, "delivery_id",
                 tuple(f.name for f in DeliveryAttempt.__attrs_attrs__), {"outcome": DeliveryStatus})
_DUE = "status IN ('pending', 'failed') AND channel = ANY(%(channels)s) AND next_attempt_at <= %(now)s"

_ENQUEUE = ("INSERT INTO deliveries (id, channel, dedup_key, payload, status, attempts, max_attempts, "
            "next_attempt_at, last_error, created_at, updated_at, delivered_at) VALUES (%(id)s, %(channel)s, "
            "%(dedup_key)s, %(payload)s::jsonb, %(status)s, %(attempts)s, %(max_attempts)s, %(next_attempt_at)s, "
            "%(last_error)s, %(created_at)s, %(updated_at)s, %(delivered_at)s) "
            "ON CONFLICT (channel, dedup_key) DO NOTHING")

#: Marks dead what ran out of attempts with its last lease over, and claims the due rows, in one
#: statement (one short transaction).
_CLAIM = f"""
WITH out_of_attempts AS (
    UPDATE deliveries SET status = 'dead', updated_at = %(now)s,
           last_error = 'no outcome recorded for the last attempt (its lease ran out)'
     WHERE {_DUE} AND attempts >= max_attempts),
due AS (
    SELECT id, next_attempt_at AS due_at FROM deliveries WHERE {_DUE} AND attempts < max_attempts
     ORDER BY next_attempt_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
UPDATE deliveries d SET attempts = d.attempts + 1, next_attempt_at = %(lease_until)s, updated_at = %(now)s
  FROM due WHERE d.id = due.id
RETURNING {", ".join(f"d.{c}" for c in DELIVERIES.columns)}, due.due_at"""

#: Logs the attempt, and moves the delivery only if this attempt still holds it.
_RECORD = """
WITH moved AS (
    UPDATE deliveries SET status = %(status)s, next_attempt_at = %(next_attempt_at)s, last_error = %(error)s,
           updated_at = %(now)s, delivered_at = CASE WHEN %(status)s = 'delivered' THEN %(now)s END
     WHERE id = %(id)s AND attempts = %(attempt)s AND status IN ('pending', 'failed')
    RETURNING status)
INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome, status_code, detail)
VALUES (%(id)s, %(attempt)s, %(started_at)s, %(duration_ms)s, %(status)s, %(status_code)s, %(detail)s)
RETURNING (SELECT status FROM moved) AS moved"""


class PostgresDeliveries:
    """``uow.deliveries``: uses only the unit of work's ``defer``."""

    def __init__(self, session: PostgresSession) -> None:
        self.uow = session

    async def enqueue(self, delivery: Delivery) -> None:
        row = DELIVERIES.to_row(delivery)
        self.uow.defer(_ENQUEUE, {**row, "payload": db.json_text(row["payload"])})


class PostgresDeliveryQueue:
    def __init__(self, pool: aiopg.Pool, clock: Clock, delay: Callable[[int], float] = backoff) -> None:
        self.pool, self.clock, self.delay = pool, clock, delay

    async def claim(self, channels: Sequence[str], *, limit: int, lease_seconds: float) -> list[Delivery]:
        now = self.clock.now()
        rows = await db.fetch(self.pool, _CLAIM, {"channels": list(channels), "now": now, "limit": limit,
                                                  "lease_until": now + timedelta(seconds=lease_seconds)})
        rows.sort(key=lambda r: (r["due_at"], r["id"]))  # earliest due first, as claimed
        return [DELIVERIES.from_row(r) for r in rows]

    async def record(self, delivery: Delivery, outcome: DeliveryOutcome, *, started_at, duration_ms: int,
                     ) -> DeliveryStatus | None:
        now = self.clock.now()
        status, next_attempt_at, error = settle(delivery, outcome, now, self.delay)
        [row] = await db.fetch(self.pool, _RECORD, {
            "id": delivery.id, "attempt": delivery.attempts, "status": status.value, "now": now,
            "next_attempt_at": next_attempt_at, "error": error, "started_at": started_at,
            "duration_ms": duration_ms, "status_code": outcome.status_code, "detail": clip(outcome.detail)})
        return DeliveryStatus(row["moved"]) if row["moved"] else None

    async def get(self, delivery_id: str) -> Delivery | None:
        rows = await db.fetch(self.pool, f"{DELIVERIES.select()} WHERE t.id = %s", [delivery_id])
        return DELIVERIES.from_row(rows[0]) if rows else None

    async def attempts(self, delivery_id: str) -> list[DeliveryAttempt]:
        rows = await db.fetch(self.pool, f"{ATTEMPTS.select()} WHERE t.delivery_id = %s ORDER BY t.attempt",
                              [delivery_id])
        return [ATTEMPTS.from_row(r) for r in rows]


REPOSITORIES = {"deliveries": PostgresDeliveries}
TABLES = ("deliveries", "delivery_attempts")
