"""Memory merchant webhook endpoints (same contract as Postgres): copies in and out, so a caller's
object is never the stored one."""
from __future__ import annotations

import copy

from domain.merchant_webhooks import Endpoint


class MemoryEndpoints:
    def __init__(self, rows: dict[str, Endpoint] | None = None) -> None:
        self.rows: dict[str, Endpoint] = {} if rows is None else rows

    async def add(self, endpoint: Endpoint) -> None:
        if endpoint.id in self.rows:
            raise KeyError(endpoint.id)
        self.rows[endpoint.id] = copy.deepcopy(endpoint)

    async def get(self, endpoint_id: str) -> Endpoint | None:
        row = self.rows.get(endpoint_id)
        return copy.deepcopy(row) if row is not None else None

    async def save(self, endpoint: Endpoint) -> None:
        if endpoint.id not in self.rows:
            raise KeyError(endpoint.id)
        self.rows[endpoint.id] = copy.deepcopy(endpoint)

    async def delete(self, endpoint_id: str) -> bool:
        return self.rows.pop(endpoint_id, None) is not None

    async def list(self) -> list[Endpoint]:
        return [copy.deepcopy(e) for e in sorted(self.rows.values(), key=lambda e: (e.created_at, e.id))]

    async def subscribed(self, event_type: str) -> list[Endpoint]:
        return [e for e in await self.list() if e.wants(event_type)]
