"""Memory merchant webhook endpoints (same contract as Postgres): copies in and out, so a caller's
object is never the stored one; the fan-out of an event in a unit of work, and the delivery log.

The endpoints live in the store's ``merchant_webhook_endpoints`` table when given it (the
container does), so that units of work see them."""
from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from adapters.memory.deliveries import ATTEMPTS, MemoryDeliveries
from adapters.memory.deliveries import TABLE as DELIVERIES
from adapters.memory.read_model import _created, _page
from adapters.memory.session import MemorySession
from adapters.memory.store import MemoryStore
from application.ports import Page
from application.ports.deliveries import DeliveryAttempt
from application.ports.merchant_webhooks import CHANNEL, endpoint_delivery
from domain import merchant_webhooks as mw
from domain.merchant_webhooks import Endpoint

ENDPOINTS = "merchant_webhook_endpoints"
T = TypeVar("T")


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

    async def change(self, endpoint_id: str, change: Callable[[Endpoint], T]) -> tuple[Endpoint, T] | None:
        row = self.rows.get(endpoint_id)  # no await until it is stored: nothing runs in between
        if row is None:
            return None
        endpoint = copy.deepcopy(row)
        result = change(endpoint)
        self.rows[endpoint_id] = copy.deepcopy(endpoint)
        return endpoint, result

    async def delete(self, endpoint_id: str) -> bool:
        return self.rows.pop(endpoint_id, None) is not None

    async def list(self) -> list[Endpoint]:
        return [copy.deepcopy(e) for e in sorted(self.rows.values(), key=lambda e: (e.created_at, e.id))]

    async def subscribed(self, event_type: str) -> list[Endpoint]:
        return [e for e in await self.list() if e.wants(event_type)]


class MemoryMerchantWebhookFanOut:
    """``uow.merchant_webhooks``: reads the endpoints as the unit of work sees the store (it holds
    the store's lock) and writes the deliveries through its session, applied at its commit."""

    def __init__(self, session: MemorySession) -> None:
        self.session = session
        self.deliveries = MemoryDeliveries(session)

    async def fan_out(self, messages: Sequence[Mapping[str, Any]], now: datetime) -> None:
        endpoints = sorted((e for e in self.session.store.tables[ENDPOINTS].values() if e is not None),
                           key=lambda e: (e.created_at, e.id))
        for msg in messages:
            for endpoint in endpoints:
                if endpoint.enabled and msg["type"] in endpoint.events:
                    key = mw.dedup_key(msg["id"], endpoint.id)
                    await self.deliveries.enqueue(endpoint_delivery(mw.delivery_id(key), endpoint.id, msg, now, key))


class MemoryDeliveryLog:
    """The delivery log over the committed delivery rows and their attempts."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def deliveries(self, endpoint_id: str, *, limit: int, cursor: str | None) -> Page:
        rows = [copy.deepcopy(d) for d in self.store.tables[DELIVERIES].values()
                if d is not None and d.channel == CHANNEL and d.payload.get("endpoint_id") == endpoint_id]
        return _page(rows, _created, limit, cursor)

    async def attempts(self, delivery_ids: Sequence[str]) -> dict[str, list[DeliveryAttempt]]:
        wanted = {i: [] for i in delivery_ids}
        for attempt in self.store.tables[ATTEMPTS].values():
            if attempt.delivery_id in wanted:
                wanted[attempt.delivery_id].append(attempt)
        return {i: sorted(found, key=lambda a: a.attempt) for i, found in wanted.items()}


REPOSITORIES = {"merchant_webhooks": MemoryMerchantWebhookFanOut}
