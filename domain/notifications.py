"""In-app notifications, one per domain event the customer should hear about.

An event is notified when its wording is registered with ``@notifies(EventClass)``: the order and
payment events' below, a context's own beside its events (``SupportReplied`` in
``domain/support.py``), so a new context's notice needs no edit here or in
``application/notifications.py``."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from domain import events
from domain.money import Money


@attrs.define
class Notification:
    id: str
    user_id: str
    kind: str
    title: str
    body: str
    created_at: datetime
    read: bool = False
    event_key: str | None = None

    def mark_read(self) -> None:
        self.read = True


def _money(amount: int, currency: str) -> str:
    return f"{currency} {Money(amount, currency).to_major():,}"


#: (kind, title, body) of one notice.
Notice = tuple[str, str, str]


@attrs.frozen
class _Wording:
    compose: Callable[[Any], Notice | None]
    #: the event's attribute naming what the notice is about (one notice per occurrence), or None
    #: for the first of refund_id, payment_id, order_id it carries
    subject: str | None


_WORDINGS: dict[type[events.DomainEvent], _Wording] = {}


def notifies(event_type: type[events.DomainEvent], *, subject: str | None = None
             ) -> Callable[[Callable[[Any], Notice | None]], Callable[[Any], Notice | None]]:
    """Register the wording of ``event_type``'s notice (an event type is worded once)."""
    def register(compose: Callable[[Any], Notice | None]) -> Callable[[Any], Notice | None]:
        if event_type in _WORDINGS:
            raise ValueError(f"the notice of {event_type.__name__} is worded twice ({compose.__module__})")
        _WORDINGS[event_type] = _Wording(compose, subject)
        return compose
    return register


def _wording(event: events.DomainEvent) -> _Wording | None:
    for cls in type(event).__mro__:
        if cls in _WORDINGS:
            return _WORDINGS[cls]
    return None


def notified() -> tuple[type[events.DomainEvent], ...]:
    """The event types the customer is told about, in the order their wordings were registered."""
    return tuple(_WORDINGS)


def compose(event: events.DomainEvent) -> Notice | None:
    """(kind, title, body) for an event, or None when the customer is not told about it."""
    wording = _wording(event)
    return None if wording is None else wording.compose(event)


def event_key(event: events.DomainEvent) -> str:
    """One notification per event occurrence, however often the event is delivered."""
    wording = _wording(event)
    if wording is not None and wording.subject is not None:
        subject = getattr(event, wording.subject)
    else:
        subject = (getattr(event, "refund_id", None) or getattr(event, "payment_id", None)
                   or getattr(event, "order_id"))
    return f"{event.name}:{subject}"


def _order(kind: str, title: str, body: Callable[[Any], str]) -> Callable[[Any], Notice]:
    return lambda e: (kind, title, body(e))


#: The order and payment events' notices: (kind, title, body).
for _type, _compose in {
    events.OrderCreated: _order("order_created", "Order created",
                                lambda e: f"Order {e.order_number} for {_money(e.total, e.currency)} was created."),
    events.PaymentInitiated: _order("payment_initiated", "Payment processing", lambda e: (
        f"Payment of {_money(e.amount, e.currency)} for order {e.order_number} has started.")),
    events.PaymentCompleted: _order("payment_completed", "Payment successful", lambda e: (
        f"We received {_money(e.amount, e.currency)} for order {e.order_number}.")),
    events.PaymentFailed: _order("payment_failed", "Payment failed", lambda e: (
        f"Payment for order {e.order_number} did not go through. You can try again.")),
    events.RefundRequested: _order("refund_requested", "Refund requested", lambda e: (
        f"A refund of {_money(e.amount, e.currency)} for order {e.order_number} was requested.")),
    events.RefundCompleted: _order("refund_completed", "Refund completed", lambda e: (
        f"{_money(e.amount, e.currency)} for order {e.order_number} was refunded.")),
    events.OrderProcessing: _order("order_processing", "Order on its way", lambda e: (
        f"Order {e.order_number} is being prepared for you"
        + (f" ({e.carrier or 'tracking'}: {e.tracking_number})" if e.tracking_number else "") + ".")),
    events.OrderCompleted: _order("order_completed", "Order completed",
                                  lambda e: f"Order {e.order_number} is complete. Thank you!"),
}.items():
    notifies(_type)(_compose)
del _type, _compose
