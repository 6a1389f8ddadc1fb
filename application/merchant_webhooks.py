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
from datetime import datetime, timedelta
from typing import Any, Protocol

import json

from application.errors import NotFound
from application.ports import Clock
from application.ports.deliveries import Delivery, DeliveryOutcome, DeliveryRepository
from application.ports.merchant_webhooks import EndpointRepository
from domain import merchant_webhooks as mw
from domain.errors import InvalidValue
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


#: Checks an endpoint URL (scheme, host, and the addresses it resolves to); raises ValueError.
UrlCheck = Callable[[str], Awaitable[None]]


class MerchantWebhookAdmin:
    """The admins' use cases: register, change, delete, rotate, test and redeliver."""

    def __init__(self, endpoints: EndpointRepository, uow: Any, check_url: UrlCheck, clock: Clock,
                 new_id: Callable[[str], str]) -> None:
        self.endpoints, self.uow, self.check_url, self.clock, self.new_id = endpoints, uow, check_url, clock, new_id

    async def _valid(self, url: str | None, events: list[str] | None) -> None:
        if events is not None:
            unknown = mw.unknown_event_types(events)
            if unknown or not events:
                raise InvalidValue(f"unknown event types: {', '.join(unknown)}" if unknown
                                   else "subscribe to at least one event type", field="events",
                                   allowed=sorted(mw.EVENT_TYPES))
        if url is not None:
            try:
                await self.check_url(url)
            except ValueError as exc:
                raise InvalidValue(f"this URL may not be called: {exc}", field="url") from None

    async def create(self, url: str, events: list[str], description: str = "") -> mw.Endpoint:
        """The new endpoint; its ``secret`` is shown to the caller this once."""
        await self._valid(url, events)
        endpoint = mw.Endpoint.new(self.new_id("we"), url, sorted(set(events)), description, self.clock.now())
        await self.endpoints.add(endpoint)
        return endpoint

    async def get(self, endpoint_id: str) -> mw.Endpoint:
        endpoint = await self.endpoints.get(endpoint_id)
        if endpoint is None:
            raise NotFound("no such webhook endpoint", endpoint_id=endpoint_id)
        return endpoint

    async def update(self, endpoint_id: str, *, url: str | None = None, events: list[str] | None = None,
                     description: str | None = None, enabled: bool | None = None) -> mw.Endpoint:
        endpoint = await self.get(endpoint_id)
        await self._valid(url, events)
        now = self.clock.now()
        if url is not None:
            endpoint.url = url
        if events is not None:
            endpoint.events = sorted(set(events))
        if description is not None:
            endpoint.description = description
        if enabled is True and not endpoint.enabled:
            endpoint.enable(now)
        elif enabled is False and endpoint.enabled:
            endpoint.disable(now, None)
        endpoint.updated_at = now
        await self.endpoints.save(endpoint)
        return endpoint

    async def delete(self, endpoint_id: str) -> None:
        await self.get(endpoint_id)
        await self.endpoints.delete(endpoint_id)

    async def rotate(self, endpoint_id: str, overlap_hours: float = 24.0) -> mw.Endpoint:
        endpoint = await self.get(endpoint_id)
        endpoint.rotate(self.clock.now(), timedelta(hours=overlap_hours))
        await self.endpoints.save(endpoint)
        return endpoint

    async def send_test(self, endpoint_id: str) -> Delivery:
        endpoint = await self.get(endpoint_id)
        now = self.clock.now()
        msg = message(self.new_id("msg"), mw.TEST_EVENT, {"endpoint_id": endpoint.id}, now)
        delivery = new_delivery(self.new_id("dlv"), endpoint.id, msg, now, dedup_key=f"{msg['id']}:{endpoint.id}")
        return await self._enqueue(delivery)

    async def redeliver(self, endpoint_id: str, original: Delivery) -> Delivery:
        """A new delivery of ``original``'s message (same ``webhook-id``: the receiver may deduplicate)."""
        endpoint = await self.get(endpoint_id)
        if original.channel != CHANNEL or original.payload.get("endpoint_id") != endpoint.id:
            raise NotFound("no such delivery for this endpoint", delivery_id=original.id)
        now = self.clock.now()
        delivery_id = self.new_id("dlv")
        delivery = new_delivery(delivery_id, endpoint.id, original.payload["message"], now,
                                dedup_key=f"{original.payload['msg_id']}:{endpoint.id}:redelivery:{delivery_id}")
        return await self._enqueue(delivery)

    async def _enqueue(self, delivery: Delivery) -> Delivery:
        async with self.uow() as uow:
            await uow.deliveries.enqueue(delivery)
            await uow.commit()
        return delivery
