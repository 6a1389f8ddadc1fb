"""An order's life after it is paid, driven by admins: ``fulfil`` (paid -> processing, with the
carrier and tracking number), ``complete`` (processing -> completed), and ``set_status`` (any move a
person may make, through the transition table: processing, completed, cancelled). The moves that
follow the money (paid, partially refunded, refunded) are the payments' and refunds' own.

Each move is recorded in the order's status history (who, when, from, to, note) and raises its
event; the customer is notified of processing and completion (``order_processing``,
``order_completed``)."""
from __future__ import annotations

from collections.abc import Callable

from application import invalidation
from application.caching import CacheAside
from application.cancellation import OrderCancellation
from application.errors import Conflict, Forbidden, NotFound
from application.ports import Clock
from application.ports.orders import OrdersUnitOfWork
from domain import transitions
from domain.errors import InvalidValue
from domain.orders import FULFILMENT_STATUSES, Order, OrderStatus
from domain.users import Principal


def admin_only(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("administrators only")


class Fulfilment:
    def __init__(self, uow: Callable[[], OrdersUnitOfWork], cancellation: OrderCancellation, clock: Clock,
                 cache: CacheAside | None = None) -> None:
        self.uow, self.cancellation, self.clock, self.cache = uow, cancellation, clock, cache

    async def _move(self, principal: Principal, order_id: str, change: Callable[[Order], None]) -> Order:
        admin_only(principal)
        async with self.uow() as uow:
            order = await uow.orders.lock(order_id)
            if order is None:
                raise NotFound("no such order", order_id=order_id)
            change(order)
            await uow.orders.save(order)
            await invalidation.stage(uow, self.cache, orders=(order,))
            await uow.commit()
        return order

    async def fulfil(self, principal: Principal, order_id: str, *, carrier: str | None = None,
                     tracking_number: str | None = None, note: str | None = None) -> Order:
        """paid -> processing: the order is being fulfilled (shipped with ``carrier``/``tracking_number``)."""
        now = self.clock.now()
        return await self._move(principal, order_id, lambda order: order.start_processing(
            now, principal.id, carrier=carrier, tracking_number=tracking_number, note=note))

    async def complete(self, principal: Principal, order_id: str, note: str | None = None) -> Order:
        """processing -> completed."""
        now = self.clock.now()
        return await self._move(principal, order_id, lambda order: order.complete(now, principal.id, note))

    async def set_status(self, principal: Principal, order_id: str, status: str, *, note: str | None = None,
                         carrier: str | None = None, tracking_number: str | None = None) -> Order:
        """Move an order to ``status`` through a legal transition a person may make."""
        admin_only(principal)
        try:
            target = OrderStatus(status)
        except ValueError:
            raise InvalidValue(f"unknown order status {status!r}", field="status") from None
        if target is OrderStatus.PROCESSING:
            return await self.fulfil(principal, order_id, carrier=carrier, tracking_number=tracking_number, note=note)
        if target is OrderStatus.COMPLETED:
            return await self.complete(principal, order_id, note)
        if target is OrderStatus.CANCELLED:
            return await self.cancellation.cancel(principal, order_id, note)
        async with self.uow() as uow:
            order = await uow.orders.get(order_id)
        if order is None:
            raise NotFound("no such order", order_id=order_id)
        transitions.check_transition(order.status, target, "order")  # an illegal move is named as such
        raise Conflict(f"an order becomes {target.value} with its money (a payment or a refund), not by hand",
                       status=target.value, allowed=sorted(s.value for s in FULFILMENT_STATUSES))
