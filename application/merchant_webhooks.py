"""Merchant webhooks: turning domain events into signed deliveries, and sending them.

``enqueue_event`` runs in the unit of work of the change (``uow.deliveries``): one delivery per
(event type, endpoint), deduplicated on that pair, so the deliveries exist exactly when the change
committed. The ``merchant_webhook`` channel's sender (``MerchantWebhookSender``) signs each attempt
with the endpoint's current secrets (the ``webhook-id`` stays the same across attempts, as
Standard Webhooks asks, so a receiver can deduplicate) and follows ``RETRY_SCHEDULE``. Delivery is
at least once; per-endpoint ordering is not promised.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import json

from application.ports import Clock
from application.ports.deliveries import Delivery, DeliveryOutcome, DeliveryRepository
from application.ports.merchant_webhooks import EndpointRepository
from domain import merchant_webhooks as mw
from domain.events import DomainEvent

log = logging.getLogger(__name__)

CHANNEL = "merchant_webhook"


class HttpPoster(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Any: ...


def message(msg_id: str, event_type: str, data: Mapping[str, Any], created_at: datetime) -> dict[str, Any]:
    """The payload (Standard Webhooks shape: type, timestamp, data)."""
    return {"id": msg_id, "type": event_type, "timestamp": created_at.isoformat(), "data": dict(data)}


def new_delivery(delivery_id: str, endpoint_id: str, msg: Mapping[str, Any], now: datetime,
                 dedup_key: str) -> Delivery:
    payload = {"endpoint_id": endpoint_id, "msg_id": msg["id"], "type": msg["type"], "message": dict(msg)}
    return Delivery.new(delivery_id, CHANNEL, dedup_key, payload, now, max_attempts=mw.MAX_ATTEMPTS)


async def enqueue_event(event: DomainEvent, endpoints: EndpointRepository, deliveries: DeliveryRepository,
                        new_id: Callable[[], str], now: datetime) -> int:
    """Enqueue the deliveries ``event`` makes (in the caller's unit of work); how many."""
    public = event.public()
    if public is None:
        return 0
    count = 0
    for event_type in mw.event_types_for(event.name):
        msg_id = f"msg_{event.event_id}_{event_type}"
        msg = message(msg_id, event_type, public["data"], event.timestamp)
        for endpoint in await endpoints.subscribed(event_type):
            await deliveries.enqueue(new_delivery(new_id(), endpoint.id, msg, now,
                                                  dedup_key=f"{msg_id}:{endpoint.id}"))
            count += 1
    return count


#: Called when an endpoint is disabled automatically: (endpoint, reason) -> notify the admins.
OnDisabled = Callable[[mw.Endpoint, str], Awaitable[None]]


class MerchantWebhookSender:
    """The ``merchant_webhook`` channel's sender: one signed POST per attempt."""

    def __init__(self, endpoints: EndpointRepository, http: HttpPoster, clock: Clock,
                 on_disabled: OnDisabled | None = None) -> None:
        self.endpoints, self.http, self.clock, self.on_disabled = endpoints, http, clock, on_disabled

    async def __call__(self, delivery: Delivery) -> DeliveryOutcome:
        endpoint = await self.endpoints.get(delivery.payload["endpoint_id"])
        if endpoint is None:
            return DeliveryOutcome.failed("the endpoint was deleted", retry=False)
        if not endpoint.enabled and delivery.payload["type"] != mw.TEST_EVENT:
            return DeliveryOutcome.failed("the endpoint is disabled", retry=False)
        now = self.clock.now()
        body = json.dumps(delivery.payload["message"], separators=(",", ":")).encode()
        headers = mw.headers(endpoint.signing_secrets(now), delivery.payload["msg_id"], int(now.timestamp()), body)
        result = await self.http.post(endpoint.url, body, headers)
        if result.ok:
            endpoint.succeeded(now)
            await self.endpoints.save(endpoint)
            return DeliveryOutcome.ok(result.status_code, _detail(result))
        disabled = endpoint.failed(now, gone=result.gone)
        await self.endpoints.save(endpoint)
        if disabled and self.on_disabled is not None:
            try:
                await self.on_disabled(endpoint, endpoint.disabled_reason or "disabled")
            except Exception:  # noqa: BLE001 - the notice is best effort; the delivery's outcome stands
                log.exception("notifying the admins that endpoint %s was disabled", endpoint.id)
        last = delivery.attempts >= delivery.max_attempts
        retry = not (disabled or result.gone or last)
        return DeliveryOutcome.failed(_detail(result) or "failed", result.status_code, retry=retry,
                                      retry_after=mw.retry_delay(delivery.attempts) if retry else None)


def _detail(result: Any) -> str | None:
    parts = [p for p in (result.error, result.snippet) if p]
    return f"{' | '.join(parts)} ({result.latency_ms} ms)" if parts else f"({result.latency_ms} ms)"
