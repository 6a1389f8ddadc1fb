"""Merchant webhooks: turning domain events into signed deliveries, sending them, and the admins'
use cases.

``MerchantWebhookEvents`` subscribes in the transaction that raised the event (like the in-app
notifications): each event a merchant hears of becomes one delivery per (event type, subscribed
endpoint) on the durable delivery queue, written with the change's commit (``uow.merchant_webhooks``),
so the deliveries exist exactly when the change committed (the outbox pattern: at least once). The
``merchant_webhook`` channel's sender (``MerchantWebhookSender``) signs each attempt with the
endpoint's current secrets (the ``webhook-id`` stays the same across attempts, as Standard Webhooks
asks, so a receiver can deduplicate) and follows ``RETRY_SCHEDULE``. Per-endpoint ordering is not
promised.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import attrs

from application.errors import Conflict, NotFound
from application.pagination import decode_cursor, encode_cursor
from application.ports import Clock, IdGenerator, Notifier, Page, TransactionSubscribers
from application.ports.deliveries import Delivery, DeliveryAttempt, DeliveryOutcome, DeliveryQueue
from application.ports.merchant_webhooks import (
    CHANNEL,
    DeliveryLog,
    EndpointRepository,
    MerchantWebhookUnitOfWork,
    endpoint_delivery,
)
from domain import merchant_webhooks as mw
from domain.errors import InvalidValue
from domain.events import DomainEvent
from domain.notifications import Notification

log = logging.getLogger(__name__)

__all__ = ["CHANNEL", "DisabledEndpointAlerts", "MerchantWebhookAdmin", "MerchantWebhookEvents",
           "MerchantWebhookSender", "message"]


class HttpPoster(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Any: ...


def message(msg_id: str, event_type: str, data: Mapping[str, Any], created_at: datetime) -> dict[str, Any]:
    """The payload (Standard Webhooks shape: type, timestamp, data)."""
    return {"id": msg_id, "type": event_type, "timestamp": created_at.isoformat(), "data": dict(data)}


def messages(event: DomainEvent) -> list[dict[str, Any]]:
    """The messages ``event`` makes, one per public event type (none for events merchants do not
    hear of); ``data`` is the event's public payload, which never carries personal data."""
    public = event.public()
    if public is None:
        return []
    return [message(mw.message_id(event.event_id, event_type), event_type, public["data"], event.timestamp)
            for event_type in mw.event_types_for(event.name)]


class MerchantWebhookEvents:
    """Subscribes in the transaction: the deliveries commit (or roll back) with the change."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def subscribe_to(self, transactions: TransactionSubscribers) -> None:
        transactions.subscribe(self.record)

    async def record(self, uow: MerchantWebhookUnitOfWork, raised: list[DomainEvent]) -> None:
        made = [msg for event in raised for msg in messages(event)]
        if made:  # one statement for the whole commit
            await uow.merchant_webhooks.fan_out(made, self.clock.now())


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
        # the endpoint as it is now (an admin may have changed it during the POST), under its lock
        if result.ok:
            if endpoint.failing_since is not None:  # a run of failures ends (else nothing to write)
                await self.endpoints.change(endpoint.id, lambda e: e.succeeded(now))
            return DeliveryOutcome.ok(result.status_code, _detail(result))
        changed = await self.endpoints.change(endpoint.id, lambda e: e.failed(now, gone=result.gone))
        disabled = changed is not None and changed[1]
        if changed is not None:
            endpoint = changed[0]
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


class DisabledEndpointAlerts:
    """``on_disabled``: every admin gets an in-app notification and, where e-mail is on, an e-mail,
    both written in one unit of work (the e-mail on the delivery queue, sent by the worker)."""

    KIND = "webhook_endpoint_disabled"

    def __init__(self, uow: Callable[[], Any], ids: IdGenerator, notifier: Notifier, clock: Clock,
                 mail: Any = None) -> None:
        self.uow, self.ids, self.notifier, self.clock, self.mail = uow, ids, notifier, clock, mail

    async def __call__(self, endpoint: mw.Endpoint, reason: str) -> None:
        now = self.clock.now()
        title = "A merchant webhook endpoint was disabled"
        body = (f"Endpoint {endpoint.id} ({endpoint.url}) no longer receives events: {reason}. Its deliveries "
                "stay in its delivery log.")
        key = f"{self.KIND}:{endpoint.id}:{(endpoint.failing_since or now).isoformat()}"
        async with self.uow() as uow:
            for admin in await uow.users.admins():
                note = Notification(id=self.ids.new_id("ntf"), user_id=admin.id, kind=self.KIND, title=title,
                                    body=body, created_at=now, event_key=key)
                await uow.notifications.add_at_commit(note)
                uow.after_commit(_told(self.notifier, admin.id, self.KIND, title, body))
                if self.mail is not None and admin.email:
                    await self.mail.queue(uow, user_id=admin.id, to=admin.email, name=admin.name, kind=self.KIND,
                                          title=title, body=body, event_key=key)
            await uow.commit()


def _told(notifier: Notifier, user_id: str, kind: str, title: str, body: str) -> Callable[[], Awaitable[None]]:
    async def send() -> None:
        await notifier.send(user_id=user_id, kind=kind, title=title, body=body)
    return send


#: Checks an endpoint URL (scheme, host, and the addresses it resolves to); raises ValueError.
UrlCheck = Callable[[str], Awaitable[None]]


@attrs.frozen
class LoggedDelivery:
    """One delivery of an endpoint's log, with its attempts (oldest first)."""

    delivery: Delivery
    attempts: list[DeliveryAttempt]


class MerchantWebhookAdmin:
    """The admins' use cases: register, list, change, delete, rotate, test, redeliver, and the log."""

    def __init__(self, endpoints: EndpointRepository, uow: Callable[[], Any], check_url: UrlCheck, clock: Clock,
                 new_id: Callable[[str], str], queue: DeliveryQueue | None = None,
                 delivery_log: DeliveryLog | None = None) -> None:
        self.endpoints, self.uow, self.check_url, self.clock, self.new_id = endpoints, uow, check_url, clock, new_id
        self.queue, self.delivery_log = queue, delivery_log

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

    async def create(self, url: str, events: list[str] | None = None, description: str = "") -> mw.Endpoint:
        """The new endpoint (``events`` None: every event type); its ``secret`` is shown to the
        caller this once."""
        await self._valid(url, events)
        chosen = sorted(set(events)) if events is not None else sorted(mw.EVENT_TYPES)
        endpoint = mw.Endpoint.new(self.new_id("we"), url, chosen, description, self.clock.now())
        await self.endpoints.add(endpoint)
        return endpoint

    async def page(self, limit: int, cursor: str | None) -> Page:
        """The endpoints, oldest first (they are few: read whole, paged here)."""
        rows = await self.endpoints.list()
        if cursor:
            after = decode_cursor(cursor)
            rows = [e for e in rows if (e.created_at.isoformat(), e.id) > after]
        chunk = rows[:limit]
        more = len(rows) > limit and chunk
        return Page(chunk, encode_cursor(chunk[-1].created_at.isoformat(), chunk[-1].id) if more else None)

    async def get(self, endpoint_id: str) -> mw.Endpoint:
        endpoint = await self.endpoints.get(endpoint_id)
        if endpoint is None:
            raise NotFound("no such webhook endpoint", endpoint_id=endpoint_id)
        return endpoint

    async def update(self, endpoint_id: str, *, url: str | None = None, events: list[str] | None = None,
                     description: str | None = None, enabled: bool | None = None) -> mw.Endpoint:
        await self.get(endpoint_id)
        await self._valid(url, events)
        now = self.clock.now()

        def apply(endpoint: mw.Endpoint) -> None:
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
        return await self._change(endpoint_id, apply)

    async def _change(self, endpoint_id: str, apply: Callable[[mw.Endpoint], Any]) -> mw.Endpoint:
        changed = await self.endpoints.change(endpoint_id, apply)
        if changed is None:
            raise NotFound("no such webhook endpoint", endpoint_id=endpoint_id)
        return changed[0]

    async def delete(self, endpoint_id: str) -> None:
        await self.get(endpoint_id)
        await self.endpoints.delete(endpoint_id)

    async def rotate(self, endpoint_id: str, overlap_hours: float = 24.0) -> mw.Endpoint:
        now = self.clock.now()
        return await self._change(endpoint_id, lambda e: e.rotate(now, timedelta(hours=overlap_hours)))

    async def send_test(self, endpoint_id: str) -> Delivery:
        endpoint = await self.get(endpoint_id)
        now = self.clock.now()
        msg = message(self.new_id("msg"), mw.TEST_EVENT, {"endpoint_id": endpoint.id}, now)
        delivery = endpoint_delivery(self.new_id("dlv"), endpoint.id, msg, now, dedup_key=mw.dedup_key(msg["id"],
                                                                                                       endpoint.id))
        return await self._enqueue(delivery)

    async def _delivery_of(self, endpoint: mw.Endpoint, delivery_id: str) -> Delivery:
        assert self.queue is not None, "MerchantWebhookAdmin needs the delivery queue for this"
        delivery = await self.queue.get(delivery_id)
        if delivery is None or delivery.channel != CHANNEL or delivery.payload.get("endpoint_id") != endpoint.id:
            raise NotFound("no such delivery for this endpoint", delivery_id=delivery_id)
        return delivery

    async def redeliver(self, endpoint_id: str, delivery_id: str) -> Delivery:
        """A new delivery of the message of ``delivery_id`` (same ``webhook-id``: the receiver may
        deduplicate). A disabled endpoint is turned back on first (409 until then)."""
        endpoint = await self.get(endpoint_id)
        if not endpoint.enabled:
            raise Conflict("the endpoint is disabled: enable it (PATCH enabled=true) before redelivering")
        original = await self._delivery_of(endpoint, delivery_id)
        now = self.clock.now()
        new_id = self.new_id("dlv")
        delivery = endpoint_delivery(new_id, endpoint.id, original.payload["message"], now,
                                     dedup_key=f"{mw.dedup_key(original.payload['msg_id'], endpoint.id)}"
                                               f":redelivery:{new_id}")
        return await self._enqueue(delivery)

    async def deliveries(self, endpoint_id: str, limit: int, cursor: str | None) -> Page:
        """The endpoint's delivery log, newest first: ``LoggedDelivery`` items."""
        assert self.delivery_log is not None, "MerchantWebhookAdmin needs the delivery log for this"
        endpoint = await self.get(endpoint_id)
        page = await self.delivery_log.deliveries(endpoint.id, limit=limit, cursor=cursor)
        attempts = await self.delivery_log.attempts([d.id for d in page.results])
        return Page([LoggedDelivery(d, attempts.get(d.id, [])) for d in page.results], page.next_cursor)

    async def _enqueue(self, delivery: Delivery) -> Delivery:
        async with self.uow() as uow:
            await uow.deliveries.enqueue(delivery)
            await uow.commit()
        return delivery
