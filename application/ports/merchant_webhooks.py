"""The merchant webhook endpoints' store (``domain.merchant_webhooks.Endpoint``), the fan-out of an
event to the endpoints in the change's own transaction, and the delivery log's query."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from application.ports.deliveries import Delivery, DeliveryAttempt
from application.ports.repositories import Page
from domain import merchant_webhooks as mw
from domain.merchant_webhooks import Endpoint

T = TypeVar("T")

#: The delivery queue's channel of merchant webhooks.
CHANNEL = "merchant_webhook"


def endpoint_delivery(delivery_id: str, endpoint_id: str, msg: Mapping[str, Any], now: datetime,
                      dedup_key: str) -> Delivery:
    """A delivery of ``msg`` (``{"id", "type", "timestamp", "data"}``) to one endpoint. The SQL
    fan-out (``adapters/postgres/merchant_webhooks.py``) builds the same payload."""
    payload = {"endpoint_id": endpoint_id, "msg_id": msg["id"], "type": msg["type"], "message": dict(msg)}
    return Delivery.new(delivery_id, CHANNEL, dedup_key, payload, now, max_attempts=mw.MAX_ATTEMPTS)


class EndpointRepository(Protocol):
    async def add(self, endpoint: Endpoint) -> None: ...

    async def get(self, endpoint_id: str) -> Endpoint | None: ...

    async def save(self, endpoint: Endpoint) -> None:
        """Store ``endpoint``'s new state (it exists)."""
        ...

    async def change(self, endpoint_id: str, change: Callable[[Endpoint], T]) -> tuple[Endpoint, T] | None:
        """Apply ``change`` (plain code, no I/O) to the stored endpoint under its row lock and store
        the result: two changes at once (the sender noting a failure while an admin rotates the
        secret) never undo each other. (the endpoint, what ``change`` returned), or None when
        there is no such endpoint."""
        ...

    async def delete(self, endpoint_id: str) -> bool: ...

    async def list(self) -> list[Endpoint]:
        """Every endpoint, oldest first."""
        ...

    async def subscribed(self, event_type: str) -> list[Endpoint]:
        """The enabled endpoints that subscribe to ``event_type``."""
        ...


class MerchantWebhookFanOut(Protocol):
    """``uow.merchant_webhooks``: deliveries written in the unit of work's transaction."""

    async def fan_out(self, messages: Sequence[Mapping[str, Any]], now: datetime) -> None:
        """With the commit: for each message, one ``endpoint_delivery`` to every endpoint that is
        enabled and subscribes to its ``type`` when the transaction commits; its id is
        ``mw.delivery_id(mw.dedup_key(msg["id"], endpoint id))``, and a second fan-out of the same
        message to the same endpoint adds nothing."""
        ...


class MerchantWebhookUnitOfWork(Protocol):
    merchant_webhooks: MerchantWebhookFanOut

    async def commit(self) -> None: ...


class DeliveryLog(Protocol):
    """An endpoint's deliveries as the admins see them (committed rows)."""

    async def deliveries(self, endpoint_id: str, *, limit: int, cursor: str | None) -> Page:
        """The endpoint's deliveries (``Delivery``), newest first, keyset cursors by (created_at, id)."""
        ...

    async def attempts(self, delivery_ids: Sequence[str]) -> dict[str, list[DeliveryAttempt]]:
        """Each delivery's attempts, oldest first (a delivery never attempted maps to [])."""
        ...
