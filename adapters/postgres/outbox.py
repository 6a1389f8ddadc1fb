"""The transactional outbox: events are written with the data that raised them, then published.

The unit of work publishes right after its commit and marks the rows; ``OutboxRelay`` (run by the
worker) publishes whatever is left (a crash, a failing bus) in order, at least once.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

import aiopg

from adapters.postgres import db
from application.errors import DependencyUnavailable
from application.ports import EventBus
from domain.events import DomainEvent, event_from_dict

log = logging.getLogger(__name__)

#: The table this module keeps (emptied with the others by the tests).
TABLES = ("outbox",)


def outbox_insert(events: Sequence[DomainEvent], published: Sequence[bool] | None = None,
                  ) -> tuple[str, list[Any], list[uuid.UUID]]:
    """One INSERT for ``events`` (``""`` when there are none), its parameters and the new row ids.

    ``published[i]`` true writes event i as already published (nothing would receive it: the row
    is a record, and the relay leaves it alone)."""
    if not events:
        return "", [], []
    ids = [uuid.uuid4() for _ in events]
    done = published if published is not None else [False] * len(events)
    params: list[Any] = []
    values = []
    for outbox_id, event, is_done in zip(ids, events, done, strict=True):
        params += [outbox_id, event.name, db.json_text(event.to_dict())]
        values.append("(%s, %s, %s::jsonb, now())" if is_done else "(%s, %s, %s::jsonb, NULL)")
    return f"INSERT INTO outbox (id, event_name, payload, published_at) VALUES {', '.join(values)}", params, ids


async def mark_published(pool: aiopg.Pool, ids: Sequence[uuid.UUID]) -> None:
    """Best effort: a row left unmarked is published again by the relay (consumers dedup)."""
    if not ids:
        return
    try:
        async with db.cursor(pool) as cur:
            await db.run(cur, "UPDATE outbox SET published_at = now() WHERE id = ANY(%s)", (list(ids),))
    except DependencyUnavailable:  # an outage: logged once by the pool's tracker
        pass
    except Exception:
        log.warning("could not mark %d outbox rows published; the relay will resend them", len(ids),
                    exc_info=True)


#: published rows older than a cutoff (both parameters the same instant)
PURGE_SQL = "DELETE FROM outbox WHERE created_at < %s AND published_at IS NOT NULL AND published_at < %s"


class OutboxRelay:
    """Publishes unpublished outbox rows, oldest first. Safe to run in several workers at once
    (``FOR UPDATE SKIP LOCKED``). Rows younger than ``grace_seconds`` are left to the unit of
    work that wrote them, which publishes them itself a moment after its commit."""

    def __init__(self, pool: aiopg.Pool, bus: EventBus, grace_seconds: float = 5.0) -> None:
        self.pool, self.bus, self.grace_seconds = pool, bus, grace_seconds

    async def relay_once(self, limit: int = 100) -> int:
        """Publish up to ``limit`` rows; return how many were published.

        A row whose payload no longer decodes is logged and marked (it would block the rest);
        a failing publish stops the pass, so order is kept and that row is retried next time.
        """
        async with db.cursor(self.pool) as cur:
            await db.run(cur, "BEGIN; SELECT id, payload FROM outbox WHERE published_at IS NULL "
                              "AND created_at <= now() - make_interval(secs => %s) "
                              "ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED", (self.grace_seconds, limit))
            pending = [(row["id"], row["payload"]) for row in await db.fetch_rows(cur)]
            done, published = [], 0
            try:
                for outbox_id, payload in pending:
                    try:
                        event = event_from_dict(payload)
                    except Exception:
                        log.error("outbox row %s does not decode; skipped: %r", outbox_id, payload)
                        done.append(outbox_id)
                        continue
                    try:
                        await self.bus.publish(event)
                    except DependencyUnavailable:  # the bus is down: its tracker logs the outage once
                        break
                    except Exception:
                        log.exception("relaying outbox row %s failed; retried on the next pass", outbox_id)
                        break
                    done.append(outbox_id)
                    published += 1
                if done:
                    await db.run(cur, "UPDATE outbox SET published_at = now() WHERE id = ANY(%s)", (done,))
                await db.run(cur, "COMMIT")
            except BaseException:
                await _rollback_quietly(cur)
                raise
        return published

    async def purge(self, older_than_seconds: float = 7 * 86400) -> int:
        """Delete published rows older than ``older_than_seconds``; return how many.

        Whole days of them go by dropping their partition (the ``partitions`` job); this removes
        what is left: the rows of the day the cutoff falls in, and any the default partition took.
        A row is published after it is created, so bounding ``created_at`` by the cutoff too keeps
        the statement on the partitions before it (pruned at plan time: the cutoff is a constant)."""
        async with db.cursor(self.pool) as cur:
            await db.run(cur, "SELECT now() - make_interval(secs => %s)", (older_than_seconds,))
            (cutoff,) = await cur.fetchone()
            await db.run(cur, PURGE_SQL, (cutoff, cutoff))
            return cur.rowcount


async def _rollback_quietly(cur: aiopg.Cursor) -> None:
    try:
        await cur.execute("ROLLBACK")
    except Exception:  # the connection is gone: db.release drops it
        log.debug("rollback failed", exc_info=True)
