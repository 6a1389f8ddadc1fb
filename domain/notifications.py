"""In-app notifications, one per domain event the customer should hear about."""
from __future__ import annotations

from datetime import datetime

import attrs

from domain import events
from domain.money import Money
from domain.support import SupportReplied


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


def compose(event: events.DomainEvent) -> tuple[str, str, str] | None:
    """(kind, title, body) for an event, or None when the customer is not told about it."""
    e = event
    if isinstance(e, events.OrderCreated):
        return "order_created", "Order created", f"Order {e.order_number} for {_money(e.total, e.currency)} was created."
    if isinstance(e, events.PaymentInitiated):
        return ("payment_initiated", "Payment processing",
                f"Payment of {_money(e.amount, e.currency)} for order {e.order_number} has started.")
    if isinstance(e, events.PaymentCompleted):
        return ("payment_completed", "Payment successful",
                f"We received {_money(e.amount, e.currency)} for order {e.order_number}.")
    if isinstance(e, events.PaymentFailed):
        return ("payment_failed", "Payment failed",
                f"Payment for order {e.order_number} did not go through. You can try again.")
    if isinstance(e, events.RefundRequested):
        return ("refund_requested", "Refund requested",
                f"A refund of {_money(e.amount, e.currency)} for order {e.order_number} was requested.")
    if isinstance(e, events.OrderProcessing):
        tracking = f" ({e.carrier or 'tracking'}: {e.tracking_number})" if e.tracking_number else ""
        return ("order_processing", "Order on its way",
                f"Order {e.order_number} is being prepared for you{tracking}.")
    if isinstance(e, events.OrderCompleted):
        return "order_completed", "Order completed", f"Order {e.order_number} is complete. Thank you!"
    if isinstance(e, events.RefundCompleted):
        return ("refund_completed", "Refund completed",
                f"{_money(e.amount, e.currency)} for order {e.order_number} was refunded.")
    if isinstance(e, SupportReplied):
        return "support_reply", "New reply to your ticket", f'Support replied to "{e.subject}": {e.excerpt}'
    return None
