"""Postgres merchant webhook endpoints (same contract as memory), one row each (migration 0009);
the fan-out of an event in a unit of work (one deferred INSERT ... SELECT, sent with the COMMIT:
no round trip of its own, and the endpoints as the transaction sees them), and the delivery log."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import aiopg

from adapters.postgres import db
from adapters.postgres.deliveries import ATTEMPTS, DELIVERIES
from adapters.postgres.keyset import after, page_of
from adapters.postgres.session import PostgresSession
from application.ports import Page
from application.ports.deliveries import DeliveryAttempt, DeliveryStatus
from application.ports.merchant_webhooks import CHANNEL
from domain import merchant_webhooks as mw
from domain.merchant_webhooks import Endpoint, SigningSecret

_COLUMNS = "id, url, events, description, enabled, secrets, disabled_reason, failing_since, created_at, updated_at"
_UPDATE = """UPDATE merchant_webhook_endpoints SET url = %(url)s, events = %(events)s,
    description = %(description)s, enabled = %(enabled)s, secrets = %(secrets)s,
    disabled_reason = %(disabled_reason)s, failing_since = %(failing_since)s, updated_at = %(updated_at)s
    WHERE id = %(id)s RETURNING id"""
T = TypeVar("T")
_UPSERT_VALUES = ("%(id)s, %(url)s, %(events)s, %(description)s, %(enabled)s, %(secrets)s, %(disabled_reason)s, "
                  "%(failing_since)s, %(created_at)s, %(updated_at)s")


def _row(endpoint: Endpoint) -> dict[str, Any]:
    secrets = [{"value": s.value, "created_at": s.created_at.isoformat(),
                "expires_at": s.expires_at.isoformat() if s.expires_at else None} for s in endpoint.secrets]
    return {"id": endpoint.id, "url": endpoint.url, "events": list(endpoint.events),
            "description": endpoint.description, "enabled": endpoint.enabled, "secrets": json.dumps(secrets),
            "disabled_reason": endpoint.disabled_reason, "failing_since": endpoint.failing_since,
            "created_at": endpoint.created_at, "updated_at": endpoint.updated_at}


def _endpoint(row: dict[str, Any]) -> Endpoint:
    raw = row["secrets"] if isinstance(row["secrets"], list) else json.loads(row["secrets"])
    secrets = [SigningSecret(s["value"], datetime.fromisoformat(s["created_at"]),
                             datetime.fromisoformat(s["expires_at"]) if s["expires_at"] else None) for s in raw]
    return Endpoint(row["id"], row["url"], list(row["events"]), row["description"], row["enabled"], secrets,
                    row["created_at"], row["updated_at"], row["disabled_reason"], row["failing_since"])


class PostgresEndpoints:
    def __init__(self, pool: aiopg.Pool) -> None:
        self.pool = pool

    async def add(self, endpoint: Endpoint) -> None:
        rows = await db.fetch(self.pool, f"INSERT INTO merchant_webhook_endpoints ({_COLUMNS}) VALUES "
                              f"({_UPSERT_VALUES}) ON CONFLICT (id) DO NOTHING RETURNING id", _row(endpoint))
        if not rows:
            raise KeyError(endpoint.id)

    async def get(self, endpoint_id: str) -> Endpoint | None:
        rows = await db.fetch(self.pool, f"SELECT {_COLUMNS} FROM merchant_webhook_endpoints WHERE id = %s",
                              [endpoint_id])
        return _endpoint(rows[0]) if rows else None

    async def save(self, endpoint: Endpoint) -> None:
        rows = await db.fetch(self.pool, _UPDATE, _row(endpoint))
        if not rows:
            raise KeyError(endpoint.id)

    async def change(self, endpoint_id: str, change: Callable[[Endpoint], T]) -> tuple[Endpoint, T] | None:
        async with db.cursor(self.pool) as cur:
            await db.run(cur, f"BEGIN; SELECT {_COLUMNS} FROM merchant_webhook_endpoints WHERE id = %s FOR UPDATE",
                         [endpoint_id])
            try:
                found = db.rows(cur, await cur.fetchall())
                if not found:
                    await db.run(cur, "ROLLBACK")
                    return None
                endpoint = _endpoint(found[0])
                result = change(endpoint)
                await db.run(cur, f"{_UPDATE}; COMMIT", _row(endpoint))
            except BaseException:
                if not cur.connection.closed:
                    await cur.execute("ROLLBACK")
                raise
        return endpoint, result

    async def delete(self, endpoint_id: str) -> bool:
        rows = await db.fetch(self.pool, "DELETE FROM merchant_webhook_endpoints WHERE id = %s RETURNING id",
                              [endpoint_id])
        return bool(rows)

    async def list(self) -> list[Endpoint]:
        rows = await db.fetch(self.pool, f"SELECT {_COLUMNS} FROM merchant_webhook_endpoints ORDER BY created_at, id")
        return [_endpoint(r) for r in rows]

    async def subscribed(self, event_type: str) -> list[Endpoint]:
        rows = await db.fetch(self.pool, f"SELECT {_COLUMNS} FROM merchant_webhook_endpoints "
                              "WHERE enabled AND %s = ANY(events) ORDER BY created_at, id", [event_type])
        return [_endpoint(r) for r in rows]


#: ``endpoint_delivery`` of each message (a JSON array) to every endpoint subscribed to its type;
#: the id and dedup key as ``mw.delivery_id`` and ``mw.dedup_key`` make them
_FAN_OUT = f"""
INSERT INTO deliveries (id, channel, dedup_key, payload, status, attempts, max_attempts, next_attempt_at,
                        last_error, created_at, updated_at, delivered_at)
SELECT 'dlv_' || left(md5((m->>'id') || ':' || e.id), 24), '{CHANNEL}', (m->>'id') || ':' || e.id,
       jsonb_build_object('endpoint_id', e.id, 'msg_id', m->>'id', 'type', m->>'type', 'message', m),
       '{DeliveryStatus.PENDING.value}', 0, %(max_attempts)s::integer, %(now)s::timestamptz, NULL,
       %(now)s::timestamptz, %(now)s::timestamptz, NULL
  FROM jsonb_array_elements(%(messages)s::jsonb) AS m
  JOIN merchant_webhook_endpoints e ON e.enabled AND (m->>'type') = ANY(e.events)
ON CONFLICT DO NOTHING"""


class PostgresMerchantWebhookFanOut:
    """``uow.merchant_webhooks``: uses only the unit of work's ``defer`` (one statement per commit)."""

    def __init__(self, session: PostgresSession) -> None:
        self.uow = session

    async def fan_out(self, messages: Sequence[Mapping[str, Any]], now: datetime) -> None:
        self.uow.defer(_FAN_OUT, {"messages": db.json_text([dict(m) for m in messages]),
                                  "max_attempts": mw.MAX_ATTEMPTS, "now": now})


class PostgresDeliveryLog:
    """Served by ``deliveries_merchant_endpoint_idx`` (migration 0012)."""

    def __init__(self, pool: aiopg.Pool) -> None:
        self.pool = pool

    async def _fetch(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        return await db.fetch(self.pool, sql, params)

    async def deliveries(self, endpoint_id: str, *, limit: int, cursor: str | None) -> Page:
        where, params = after(cursor)
        where += ["t.channel = %s", "t.payload->>'endpoint_id' = %s"]
        params += [CHANNEL, endpoint_id]
        rows = await self._fetch(f"{DELIVERIES.select()} WHERE {' AND '.join(where)} "
                                 "ORDER BY t.created_at DESC, t.id DESC LIMIT %s", [*params, limit + 1])
        return page_of([DELIVERIES.from_row(r) for r in rows], limit)

    async def attempts(self, delivery_ids: Sequence[str]) -> dict[str, list[DeliveryAttempt]]:
        found: dict[str, list[DeliveryAttempt]] = {i: [] for i in delivery_ids}
        if not found:
            return found
        rows = await db.fetch(self.pool, f"{ATTEMPTS.select()} WHERE t.delivery_id = ANY(%s) "
                              "ORDER BY t.delivery_id, t.attempt", [list(found)])
        for row in rows:
            found[row["delivery_id"]].append(ATTEMPTS.from_row(row))
        return found


REPOSITORIES = {"merchant_webhooks": PostgresMerchantWebhookFanOut}
TABLES = ("merchant_webhook_endpoints",)
