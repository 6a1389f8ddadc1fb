"""Order aggregate and its lifecycle."""
from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from domain import events, transitions
from domain.checkout import LineItem
from domain.users import Principal


class OrderStatus(str, enum.Enum):
    PENDING = "pending"
    PAID = "paid"
    PROCESSING = "processing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


_O = OrderStatus
# A paid or processing order may be cancelled (DESIGN.md §2: it is then refunded and restocked).
ORDER_TRANSITIONS = transitions.table(OrderStatus, {
    _O.PENDING: {_O.PAID, _O.CANCELLED, _O.FAILED},
    _O.PAID: {_O.PROCESSING, _O.CANCELLED, _O.PARTIALLY_REFUNDED, _O.REFUNDED},
    _O.PROCESSING: {_O.COMPLETED, _O.CANCELLED, _O.PARTIALLY_REFUNDED, _O.REFUNDED},
    _O.COMPLETED: {_O.PARTIALLY_REFUNDED, _O.REFUNDED},
    _O.PARTIALLY_REFUNDED: {_O.REFUNDED},
    _O.CANCELLED: set(),
    _O.FAILED: set(),
    _O.REFUNDED: set(),
})


#: What a person may move an order to (the other moves follow the money: payments and refunds).
FULFILMENT_STATUSES = frozenset({_O.PROCESSING, _O.COMPLETED, _O.CANCELLED})
#: Who moved an order when no person did (the payment settlement, refunds, the worker).
SYSTEM = "system"
#: How long after a cancellation the worker first looks for its refund (the request itself asks at once).
REFUND_FIRST_LOOK = timedelta(minutes=2)


@attrs.frozen
class StatusChange:
    """One entry of an order's status history: ``from_status`` None for the order being placed."""

    from_status: str | None
    to_status: str
    at: datetime
    by: str
    note: str | None = None


@attrs.frozen
class EventContext:
    """Who and which order an event is about (the fields of every ``OrderEvent``)."""

    user_id: str
    user_email: str | None
    user_name: str | None
    workspace_id: str | None
    order_id: str
    order_number: str

    def fields(self, now: datetime) -> dict:
        return {**attrs.asdict(self), "timestamp": now}


@attrs.define
class Order:
    id: str
    order_number: str
    owner_id: str
    customer_email: str | None
    customer_name: str | None
    items: list[LineItem]
    currency: str
    subtotal: int
    discount: int
    shipping: int
    tax: int
    total: int
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    workspace_id: str | None = None
    coupon_code: str | None = None
    checkout_id: str | None = None
    #: the payment that paid it (another payment's capture for this order is refunded, never applied)
    payment_id: str | None = None
    paid_at: datetime | None = None
    completed_at: datetime | None = None
    #: how it was sent (``fulfil``), when a person gave it
    carrier: str | None = None
    tracking_number: str | None = None
    #: a paid order's cancellation: who, when, why, and its refund. ``refund_due_at`` is set from
    #: the cancellation until its refund is requested (or nothing was left to refund): the worker
    #: finishes a cancellation a crash left halfway, found by it
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    cancel_refund_id: str | None = None
    refund_due_at: datetime | None = None
    status_history: list[StatusChange] = attrs.field(factory=list)
    version: int = 0
    events: list = attrs.field(factory=list, eq=False, repr=False)

    @classmethod
    def place(cls, *, id: str, order_number: str, owner: Principal, items: list[LineItem], currency: str,
              subtotal: int, discount: int, shipping: int, tax: int, total: int, now: datetime,
              workspace_id: str | None = None, coupon_code: str | None = None,
              checkout_id: str | None = None) -> Order:
        order = cls(
            id=id, order_number=order_number, owner_id=owner.id, customer_email=owner.email,
            customer_name=owner.name, items=list(items), currency=currency, subtotal=subtotal,
            discount=discount, shipping=shipping, tax=tax, total=total, status=OrderStatus.PENDING,
            created_at=now, updated_at=now, workspace_id=workspace_id, coupon_code=coupon_code,
            checkout_id=checkout_id,
            status_history=[StatusChange(None, OrderStatus.PENDING.value, now, owner.id, "placed")],
        )
        order.events.append(events.OrderCreated(
            **order.context().fields(now), subtotal=subtotal, tax=tax, total=total, currency=currency,
            item_count=sum(i.quantity for i in items),
        ))
        return order

    def context(self) -> EventContext:
        return EventContext(self.owner_id, self.customer_email, self.customer_name, self.workspace_id,
                            self.id, self.order_number)

    def _move(self, status: OrderStatus, now: datetime, by: str = SYSTEM, note: str | None = None) -> None:
        transitions.check_transition(self.status, status, "order")
        self.status_history.append(StatusChange(self.status.value, status.value, now, by, note))
        self.status = status
        self.updated_at = now
        self.version += 1

    def mark_paid(self, now: datetime, payment_id: str | None = None) -> None:
        self._move(OrderStatus.PAID, now, note=f"paid by payment {payment_id}" if payment_id else "paid")
        self.payment_id, self.paid_at = payment_id, now

    def cancel(self, now: datetime, reason: str = "cancelled by customer", by: str = SYSTEM) -> None:
        """Cancel the order (the caller puts its stock back). A paid or processing one is refunded:
        that is recorded here first (``refund_due_at``: its refund is still to request), so that
        whatever stops the operation halfway is finished by the worker."""
        paid = self.status in (OrderStatus.PAID, OrderStatus.PROCESSING)
        self._move(OrderStatus.CANCELLED, now, by, reason)
        self.cancelled_at, self.cancelled_by, self.cancel_reason = now, by, reason
        if paid:
            self.refund_due_at = now + REFUND_FIRST_LOOK
        self.events.append(events.OrderCancelled(**self.context().fields(now), reason=reason))

    @property
    def refund_pending(self) -> bool:
        """A cancellation whose refund has not been requested yet."""
        return self.refund_due_at is not None

    def cancellation_refunded(self, refund_id: str | None, now: datetime) -> None:
        """The cancellation's refund was requested (``refund_id``), or nothing was left to refund (None)."""
        if self.refund_due_at is None:
            return
        self.cancel_refund_id, self.refund_due_at = refund_id, None
        self.updated_at, self.version = now, self.version + 1

    def fail(self, now: datetime, note: str | None = "payment window expired") -> None:
        self._move(OrderStatus.FAILED, now, note=note)

    def start_processing(self, now: datetime, by: str = SYSTEM, carrier: str | None = None,
                         tracking_number: str | None = None, note: str | None = None) -> None:
        """Fulfilment begins (an admin action): the customer is told, with the carrier's tracking."""
        self._move(OrderStatus.PROCESSING, now, by, note)
        self.carrier, self.tracking_number = carrier, tracking_number
        self.events.append(events.OrderProcessing(**self.context().fields(now), carrier=carrier,
                                                  tracking_number=tracking_number, note=note))

    def complete(self, now: datetime, by: str = SYSTEM, note: str | None = None) -> None:
        self._move(OrderStatus.COMPLETED, now, by, note)
        self.completed_at = now
        self.events.append(events.OrderCompleted(**self.context().fields(now), note=note))

    def record_refunds(self, refunded: int, captured: int, now: datetime) -> None:
        """Reflect the refunded total: fully refunded, or partially (nothing refunded: no change).
        An order cancelled once paid stays cancelled: its refund is the cancellation's."""
        if refunded <= 0 or (self.status is OrderStatus.CANCELLED and self.paid_at is not None):
            return
        target = OrderStatus.REFUNDED if refunded >= captured else OrderStatus.PARTIALLY_REFUNDED
        if target is not self.status:
            self._move(target, now, note=f"refunded {refunded} of {captured} {self.currency}")
