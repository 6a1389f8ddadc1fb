"""Order aggregate and its lifecycle."""
from __future__ import annotations

import enum
from datetime import datetime

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
ORDER_TRANSITIONS = transitions.table(OrderStatus, {
    _O.PENDING: {_O.PAID, _O.CANCELLED, _O.FAILED},
    _O.PAID: {_O.PROCESSING, _O.PARTIALLY_REFUNDED, _O.REFUNDED},
    _O.PROCESSING: {_O.COMPLETED, _O.PARTIALLY_REFUNDED, _O.REFUNDED},
    _O.COMPLETED: {_O.PARTIALLY_REFUNDED, _O.REFUNDED},
    _O.PARTIALLY_REFUNDED: {_O.REFUNDED},
    _O.CANCELLED: set(),
    _O.FAILED: set(),
    _O.REFUNDED: set(),
})


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
        )
        order.events.append(events.OrderCreated(
            **order.context().fields(now), subtotal=subtotal, tax=tax, total=total, currency=currency,
            item_count=sum(i.quantity for i in items),
        ))
        return order

    def context(self) -> EventContext:
        return EventContext(self.owner_id, self.customer_email, self.customer_name, self.workspace_id,
                            self.id, self.order_number)

    def _move(self, status: OrderStatus, now: datetime) -> None:
        transitions.check_transition(self.status, status, "order")
        self.status = status
        self.updated_at = now
        self.version += 1

    def mark_paid(self, now: datetime, payment_id: str | None = None) -> None:
        self._move(OrderStatus.PAID, now)
        self.payment_id, self.paid_at = payment_id, now

    def cancel(self, now: datetime, reason: str = "cancelled by customer") -> None:
        self._move(OrderStatus.CANCELLED, now)
        self.events.append(events.OrderCancelled(**self.context().fields(now), reason=reason))

    def fail(self, now: datetime) -> None:
        self._move(OrderStatus.FAILED, now)

    def start_processing(self, now: datetime) -> None:
        self._move(OrderStatus.PROCESSING, now)

    def complete(self, now: datetime) -> None:
        self._move(OrderStatus.COMPLETED, now)

    def record_refunds(self, refunded: int, captured: int, now: datetime) -> None:
        """Reflect the refunded total: fully refunded, or partially (nothing refunded: no change)."""
        if refunded <= 0:
            return
        target = OrderStatus.REFUNDED if refunded >= captured else OrderStatus.PARTIALLY_REFUNDED
        if target is not self.status:
            self._move(target, now)
