"""Cancelling an order: a pending one gives its stock back; a paid or processing one is also refunded
what was captured, in one recoverable operation.

1. In one transaction the order moves to ``cancelled`` (who, when, why in its history), its items
   go back in stock, and it records that its refund is still to request (``refund_due_at``).
2. The refund is requested through ``Refunds.request`` as the system (an admin principal: no
   customer window), for the whole refundable remainder, with an idempotency key derived from the
   order: however often this step runs, it finds the same refund instead of making a second one.
3. The order records the refund (``refund_due_at`` cleared).

A crash or an error after 1 leaves ``refund_due_at`` set: the worker's ``finish_due`` job claims
such orders once it is due (two minutes later, then a lease) and runs 2 and 3 again, which
cannot refund twice. A customer may cancel a paid or processing order within the policy window
after it was paid (``customer_window``; None: never); an admin at any time.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from application import invalidation
from application.caching import CacheAside
from application.jobs import each_isolated
from application.orders import Orders, restock
from application.payments.refunds import Refunds
from application.ports import Clock
from application.ports.maintenance import MaintenanceQueries
from application.ports.orders import OrdersUnitOfWork
from domain.errors import CancellationNotAllowed, RefundExceedsCaptured
from domain.orders import Order, OrderStatus
from domain.users import Principal, Role

log = logging.getLogger(__name__)

#: who requests a cancellation's refund: the system, with an admin's reach (no customer window)
SYSTEM = Principal("system", Role.ADMIN)


def refund_key(order_id: str) -> str:
    """The idempotency key of an order's cancellation refund: one refund per cancelled order."""
    return f"order-cancellation:{order_id}"


class OrderCancellation:
    def __init__(self, uow: Callable[[], OrdersUnitOfWork], orders: Orders, refunds: Refunds,
                 queries: MaintenanceQueries, clock: Clock, customer_window: timedelta | None = timedelta(hours=24),
                 cache: CacheAside | None = None) -> None:
        self.uow, self.orders, self.refunds, self.queries, self.clock = uow, orders, refunds, queries, clock
        self.customer_window, self.cache = customer_window, cache

    async def cancel(self, principal: Principal, order_id: str, reason: str | None = None) -> Order:
        """Cancel ``order_id`` for ``principal`` (the customer's own order, or an admin)."""
        order = await self.orders.get(principal, order_id)
        if order.status is OrderStatus.PENDING:
            return await self.orders.cancel(principal, order_id)
        if order.status is OrderStatus.CANCELLED and order.refund_pending:
            return await self.finish(order.id)  # a retry finishes what the first call left
        if order.status in (OrderStatus.PAID, OrderStatus.PROCESSING) and not principal.is_admin:
            self._within_window(order)
        now = self.clock.now()
        reason = reason or ("cancelled by an administrator" if principal.is_admin else "cancelled by the customer")
        async with self.uow() as uow:
            order = await uow.orders.lock(order_id)
            order.cancel(now, reason, by=principal.id)  # the table refuses what cannot be cancelled
            restocked = await restock(uow, order)
            await uow.orders.save(order)
            await invalidation.stage(uow, self.cache, product_ids=restocked, orders=(order,))
            await uow.commit()
        return await self.finish(order.id) if order.refund_pending else order

    def _within_window(self, order: Order) -> None:
        paid_at = order.paid_at or order.updated_at
        if self.customer_window is None or self.clock.now() - paid_at > self.customer_window:
            raise CancellationNotAllowed("this order can no longer be cancelled online; contact support",
                                   window_hours=None if self.customer_window is None
                                   else self.customer_window.total_seconds() / 3600)

    async def finish(self, order_id: str) -> Order:
        """Request a cancelled order's refund (steps 2 and 3); nothing when it has been requested."""
        async with self.uow() as uow:
            order = await uow.orders.get(order_id)
        if order is None or not order.refund_pending:
            return order
        refund_id = None
        if order.payment_id is not None:
            try:
                refund = await self.refunds.request(
                    SYSTEM, payment_id=order.payment_id, amount=None, reason="order_cancelled",
                    description=f"order {order.order_number} cancelled", idempotency_key=refund_key(order.id))
                refund_id = refund.id
            except RefundExceedsCaptured:  # refunded in full already (or every remaining unit reserved)
                log.info("order %s cancelled: nothing left to refund", order.id)
        else:
            log.warning("order %s was cancelled as paid but names no payment: nothing refunded", order.id)
        async with self.uow() as uow:
            order = await uow.orders.lock(order_id)
            order.cancellation_refunded(refund_id, self.clock.now())
            await uow.orders.save(order)
            await invalidation.stage(uow, self.cache, orders=(order,))
            await uow.commit()
        return order

    async def finish_due(self, limit: int = 100) -> int:
        """The worker's job: finish the cancellations whose refund a crash or an error left unrequested."""
        due = await self.queries.due_cancellations(now=self.clock.now(), limit=limit)
        return await each_isolated(due, lambda order: self.finish(order.id), "finishing the cancellation of order")
