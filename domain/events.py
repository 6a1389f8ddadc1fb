"""Domain events: past tense, frozen. Aggregates record them; the unit of work publishes them after commit.

Every event is a ``DomainEvent``: what happened (its class, and the ``name`` it declares), when
(``timestamp``) and which occurrence (``event_id``). Events about an order are ``OrderEvent``s,
which add who and which order. An event names itself where it is declared, with no list to edit::

    @attrs.frozen(kw_only=True)
    class PaymentCompleted(OrderEvent, name="PAYMENT_COMPLETED", public="payment.succeeded"):
        ...

Two forms leave an event. ``to_dict()`` (read back by ``event_from_dict``) is the internal one,
for the outbox and Redis Streams: every field, the customer's e-mail and name included.
``public()`` is the versioned payload for anything outside the process (merchant webhooks):
``{"id", "type", "version", "created_at", "data"}``, whose data never carries the customer's
e-mail or name. An event declared without ``public=`` has no public form (``public()`` is None);
one whose public data changes shape declares the next ``version=``.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

#: Internal fields no public payload carries: personal data of the customer.
PRIVATE_FIELDS = frozenset({"user_email", "user_name"})
_ENVELOPE = frozenset({"event_id", "timestamp"})
#: Namespace of the ids given to rows written before events had one (uuid5 of their content).
_LEGACY_IDS = uuid.UUID("98642374-d521-50ee-b1ef-65617ebe9b64")

_BY_NAME: dict[str, type[DomainEvent]] = {}


def new_event_id() -> str:
    return str(uuid.uuid4())


@attrs.frozen(kw_only=True)
class DomainEvent:
    """What every event carries: which occurrence (``event_id``) and when (``timestamp``).

    ``event_id`` is left out of equality: two records of the same fact compare equal.
    """

    name: ClassVar[str]
    public_type: ClassVar[str | None] = None
    public_version: ClassVar[int] = 1

    event_id: str = attrs.field(factory=new_event_id, eq=False)
    timestamp: datetime

    def __init_subclass__(cls, *, name: str | None = None, public: str | None = None, version: int = 1,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if name is None:
            if "name" in cls.__dict__:  # attrs rebuilding a declared event as a slotted class
                _register(cls)
            elif getattr(cls, "name", None) is not None:
                raise TypeError(f"{cls.__qualname__} extends the event {cls.name}: give it a name= of its own")
            return  # a base of other events (OrderEvent): not an event of its own
        cls.name, cls.public_type, cls.public_version = name, public, version
        _register(cls)

    def to_dict(self) -> dict:
        """The internal form (outbox rows, Redis Streams): every field, personal data included."""
        data = attrs.asdict(self)
        data["timestamp"] = self.timestamp.isoformat()
        data["event"] = self.name
        return data

    def public(self) -> dict | None:
        """The versioned payload for the outside world, or None for an event that has none."""
        if self.public_type is None:
            return None
        data = attrs.asdict(self, filter=lambda a, _: a.name not in _ENVELOPE and a.name not in PRIVATE_FIELDS)
        return {"id": self.event_id, "type": self.public_type, "version": self.public_version,
                "created_at": self.timestamp.isoformat(), "data": data}


@attrs.frozen(kw_only=True)
class OrderEvent(DomainEvent):
    """An event about an order: whose it is and which (DESIGN.md §2)."""

    user_id: str
    user_email: str | None
    user_name: str | None
    workspace_id: str | None
    order_id: str
    order_number: str


def _register(cls: type[DomainEvent]) -> None:
    """Refuse a name or public type another event took; the same declaration rebuilt replaces itself."""
    for other in _BY_NAME.values():
        if (other.__module__, other.__qualname__) == (cls.__module__, cls.__qualname__):
            continue
        if other.name == cls.name or (cls.public_type is not None and other.public_type == cls.public_type):
            raise TypeError(f"{cls.__qualname__} takes the name {cls.name!r} or public type {cls.public_type!r} "
                            f"of {other.__module__}.{other.__qualname__}")
    _BY_NAME[cls.name] = cls


def registered() -> Mapping[str, type[DomainEvent]]:
    """Every event declared so far (in the modules imported), by name."""
    return MappingProxyType(_BY_NAME)


def event_from_dict(data: Mapping[str, Any]) -> DomainEvent:
    """Rebuild an event from ``to_dict`` output (outbox rows, Redis Streams).

    A row written before events had ids gets one derived from its content: the same on every
    load, so a consumer deduplicating on ``event_id`` sees one event however often it is relayed.
    """
    fields = dict(data)
    cls = _BY_NAME[fields.pop("event")]
    if "event_id" not in fields:
        content = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        fields["event_id"] = str(uuid.uuid5(_LEGACY_IDS, content))
    fields["timestamp"] = datetime.fromisoformat(fields["timestamp"])
    return cls(**fields)


@attrs.frozen(kw_only=True)
class OrderCreated(OrderEvent, name="ORDER_CREATED", public="order.created"):
    subtotal: int
    tax: int
    total: int
    currency: str
    item_count: int


@attrs.frozen(kw_only=True)
class OrderCancelled(OrderEvent, name="ORDER_CANCELLED", public="order.cancelled"):
    reason: str


@attrs.frozen(kw_only=True)
class PaymentInitiated(OrderEvent, name="PAYMENT_INITIATED", public="payment.initiated"):
    payment_id: str
    amount: int
    currency: str
    gateway: str
    reference: str


@attrs.frozen(kw_only=True)
class PaymentCompleted(OrderEvent, name="PAYMENT_COMPLETED", public="payment.succeeded"):
    payment_id: str
    amount: int
    currency: str
    gateway: str
    gateway_reference: str | None


@attrs.frozen(kw_only=True)
class PaymentFailed(OrderEvent, name="PAYMENT_FAILED", public="payment.failed"):
    payment_id: str
    amount: int
    currency: str
    gateway: str
    error: str | None


@attrs.frozen(kw_only=True)
class RefundRequested(OrderEvent, name="REFUND_REQUESTED", public="refund.requested"):
    refund_id: str
    payment_id: str
    amount: int
    currency: str
    reason: str
    description: str | None


@attrs.frozen(kw_only=True)
class RefundCompleted(OrderEvent, name="REFUND_COMPLETED", public="refund.succeeded"):
    refund_id: str
    payment_id: str
    amount: int
    currency: str


@attrs.frozen(kw_only=True)
class RefundFailed(OrderEvent, name="REFUND_FAILED", public="refund.failed"):
    refund_id: str
    payment_id: str
    amount: int
    currency: str
    error: str | None


@attrs.frozen(kw_only=True)
class OrderProcessing(OrderEvent, name="ORDER_PROCESSING", public="order.processing"):
    """Fulfilment began (an admin's ``fulfil``), with the carrier's tracking when given."""

    carrier: str | None
    tracking_number: str | None
    note: str | None


@attrs.frozen(kw_only=True)
class OrderCompleted(OrderEvent, name="ORDER_COMPLETED", public="order.completed"):
    note: str | None


@attrs.frozen(kw_only=True)
class PaymentBlocked(OrderEvent, name="PAYMENT_BLOCKED", public="payment.blocked"):
    """The risk rules refused an attempt before any intent was made (nothing reached a gateway)."""

    amount: int
    currency: str
    #: the rules' reasons, "; "-separated
    reasons: str
