"""Domain events: past tense, frozen. Aggregates record them; the unit of work publishes them after commit."""
from __future__ import annotations

from datetime import datetime

import attrs


@attrs.frozen(kw_only=True)
class DomainEvent:
    """Fields every event carries (DESIGN.md §2)."""

    user_id: str
    user_email: str | None
    user_name: str | None
    workspace_id: str | None
    order_id: str
    order_number: str
    timestamp: datetime

    @property
    def name(self) -> str:
        return EVENT_NAMES[type(self)]

    def to_dict(self) -> dict:
        data = attrs.asdict(self)
        data["timestamp"] = self.timestamp.isoformat()
        data["event"] = self.name
        return data


@attrs.frozen(kw_only=True)
class OrderCreated(DomainEvent):
    subtotal: int
    tax: int
    total: int
    currency: str
    item_count: int


@attrs.frozen(kw_only=True)
class OrderCancelled(DomainEvent):
    reason: str


@attrs.frozen(kw_only=True)
class PaymentInitiated(DomainEvent):
    payment_id: str
    amount: int
    currency: str
    gateway: str
    reference: str


@attrs.frozen(kw_only=True)
class PaymentCompleted(DomainEvent):
    payment_id: str
    amount: int
    currency: str
    gateway: str
    gateway_reference: str | None


@attrs.frozen(kw_only=True)
class PaymentFailed(DomainEvent):
    payment_id: str
    amount: int
    currency: str
    gateway: str
    error: str | None


@attrs.frozen(kw_only=True)
class RefundRequested(DomainEvent):
    refund_id: str
    payment_id: str
    amount: int
    currency: str
    reason: str
    description: str | None


@attrs.frozen(kw_only=True)
class RefundCompleted(DomainEvent):
    refund_id: str
    payment_id: str
    amount: int
    currency: str


@attrs.frozen(kw_only=True)
class RefundFailed(DomainEvent):
    refund_id: str
    payment_id: str
    amount: int
    currency: str
    error: str | None


EVENT_NAMES: dict[type, str] = {
    OrderCreated: "ORDER_CREATED",
    OrderCancelled: "ORDER_CANCELLED",
    PaymentInitiated: "PAYMENT_INITIATED",
    PaymentCompleted: "PAYMENT_COMPLETED",
    PaymentFailed: "PAYMENT_FAILED",
    RefundRequested: "REFUND_REQUESTED",
    RefundCompleted: "REFUND_COMPLETED",
    RefundFailed: "REFUND_FAILED",
}
EVENT_TYPES: dict[str, type] = {v: k for k, v in EVENT_NAMES.items()}


def event_from_dict(data: dict) -> DomainEvent:
    """Rebuild an event from ``to_dict`` output (outbox rows, Redis Streams)."""
    data = dict(data)
    cls = EVENT_TYPES[data.pop("event")]
    data["timestamp"] = datetime.fromisoformat(data["timestamp"])
    return cls(**data)
