"""Applying a gateway-confirmed outcome to a payment intent: the one place money state changes.

Every path (callback, webhook, check-status, the worker) ends here, under row locks, so duplicate,
late and out-of-order reports all end in the same state: a terminal intent never moves again.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from application import invalidation
from application.caching import CacheAside
from application.errors import GatewayError, NotFound
from application.ports import Clock, GatewayRegistry, IdGenerator, VerifiedPayment
from application.ports.payments import PaymentsUnitOfWork
from domain.orders import Order, OrderStatus
from domain.payments import PaymentIntent, PaymentStatus, Transaction, TransactionStatus, TransactionType

log = logging.getLogger(__name__)

#: Extra work for the settling transaction (the webhook inbox marks its row there).
Within = Callable[[PaymentsUnitOfWork], Awaitable[None]]


class PaymentSettlement:
    def __init__(self, uow: Callable[[], PaymentsUnitOfWork], gateways: GatewayRegistry, clock: Clock, ids: IdGenerator,
                 cache: CacheAside | None = None, on_status=None) -> None:
        self.uow, self.gateways, self.clock, self.ids, self.cache = uow, gateways, clock, ids, cache
        self.on_status = on_status or (lambda gateway, status: None)

    async def verify(self, payment: PaymentIntent) -> VerifiedPayment:
        gateway = self.gateways.get(payment.gateway)
        if gateway is None:
            raise GatewayError(f"gateway {payment.gateway} is not enabled", gateway=payment.gateway)
        return await gateway.verify_payment(payment.reference, payment.gateway_reference)

    async def verify_and_apply(self, reference: str, within: Within | None = None) -> PaymentIntent:
        """Ask the gateway what happened to ``reference`` and apply it (callbacks, polling)."""
        async with self.uow() as uow:
            payment = await uow.payments.get_by_reference(reference)
        if payment is None:
            raise NotFound("no payment with this reference", reference=reference)
        if payment.is_terminal:
            return payment
        return await self.apply(reference, await self.verify(payment), within)

    async def apply(self, reference: str, report: VerifiedPayment, within: Within | None = None) -> PaymentIntent:
        """Apply ``report`` under the payment's and the order's row locks. ``within`` runs in the same
        transaction, whether or not the report changes anything (not when the payment is unknown)."""
        now = self.clock.now()
        async with self.uow() as uow:
            payment = await uow.payments.lock_by_reference(reference)
            if payment is None:
                raise NotFound("no payment with this reference", reference=reference)
            if not payment.should_apply(report.status):
                if within is not None:
                    await within(uow)
                    await uow.commit()
                return payment
            order = await uow.orders.lock(payment.order_id)
            ctx = order.context()
            if report.status is PaymentStatus.SUCCEEDED:
                problem = _mismatch(payment, report)
                if problem:
                    log.error("payment %s: gateway success does not match: %s", payment.id, problem)
                    payment.fail(ctx, problem, now)
                else:
                    self._succeed(payment, order, report, now)
                    await uow.ledger.append(Transaction(
                        id=self.ids.new_id("txn"), payment_id=payment.id, order_id=order.id,
                        type=TransactionType.PAYMENT, amount=payment.captured_amount, currency=payment.currency,
                        status=TransactionStatus.SUCCEEDED, gateway=payment.gateway, processed_at=now,
                        gateway_reference=payment.gateway_reference,
                    ))
            elif report.status is PaymentStatus.FAILED:
                payment.fail(ctx, report.error or report.raw_status, now)
            elif report.status is PaymentStatus.CANCELED:
                payment.cancel(now)
            elif report.status is PaymentStatus.EXPIRED:
                payment.expire(now)
            else:
                payment.mark(report.status, now)
            await uow.payments.save(payment)
            await uow.orders.save(order)
            if within is not None:
                await within(uow)
            await uow.commit()
        self.on_status(payment.gateway, payment.status.value)
        await invalidation.changed(self.cache, payments=(payment,), orders=(order,))
        return payment

    @staticmethod
    def _succeed(payment: PaymentIntent, order: Order, report: VerifiedPayment, now) -> None:
        captured = report.amount if report.amount is not None else payment.amount
        payment.succeed(order.context(), captured, report.gateway_reference, now)
        if order.status is OrderStatus.PENDING:
            order.mark_paid(now)
        else:  # money arrived for an order that is no longer payable: recorded, and reconcile flags it
            log.error("payment %s succeeded for order %s in status %s", payment.id, order.id, order.status.value)


def _mismatch(payment: PaymentIntent, report: VerifiedPayment) -> str | None:
    if report.currency is not None and report.currency.upper() != payment.currency:
        return f"currency mismatch: expected {payment.currency}, gateway says {report.currency}"
    if report.amount is not None and report.amount < payment.amount:
        return f"amount mismatch: expected {payment.amount}, gateway captured {report.amount}"
    return None
