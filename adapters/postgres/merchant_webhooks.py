"""Postgres merchant webhook endpoints (same contract as memory), one row each (migration 0009)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiopg

from adapters.postgres import db
from domain.merchant_webhooks import Endpoint, SigningSecret

_COLUMNS = "id, url, events, description, enabled, secrets, disabled_reason, failing_since, created_at, updated_at"
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
        rows = await db.fetch(self.pool, """UPDATE merchant_webhook_endpoints SET url = %(url)s, events = %(events)s,
            description = %(description)s, enabled = %(enabled)s, secrets = %(secrets)s,
            disabled_reason = %(disabled_reason)s, failing_since = %(failing_since)s, updated_at = %(updated_at)s
            WHERE id = %(id)s RETURNING id""", _row(endpoint))
        if not rows:
            raise KeyError(endpoint.id)

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


TABLES = ("merchant_webhook_endpoints",)
