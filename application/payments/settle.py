"""Applying a gateway-confirmed outcome to a payment intent: the one place money state changes.

Every path (callback, webhook, check-status, the worker, reconcile) ends here, under row locks, so
duplicate, late and out-of-order reports all end in the same state. Three rules keep money safe:

- A report counts only from the payment's own gateway (``source``): an event verified with the
  sandbox's secret, or any other gateway's, changes nothing of a Stripe payment (``ForeignReport``).
- Succeeded never moves. An intent we ended unpaid (failed, canceled, expired) moves once more, to
  succeeded, when its gateway verifies a capture made after it: a late capture is recorded, never
  dropped, and only a status query at the gateway can prove it.
- Every verified capture is money we hold: the ledger records it, and it pays the order only when
  the order can still be paid by it (pending, the full amount, in its currency). Otherwise (the
  order was paid by another payment, expired, cancelled, or the gateway captured less) the capture
  is refunded in full automatically: the refund is reserved in the same transaction, then sent.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from application import invalidation
from application.caching import CacheAside
from application.errors import ForeignReport, GatewayUnavailable, NotFound
from application.ports import Clock, GatewayRegistry, IdGenerator, VerifiedPayment
from application.payments.refunds import FIRST_LOOK
from application.ports.payments import PaymentsUnitOfWork
from domain.orders import Order, OrderStatus
from domain.payments import PaymentIntent, PaymentStatus, Refund, Transaction, TransactionStatus, TransactionType

if TYPE_CHECKING:
    from application.payments.refunds import Refunds

log = logging.getLogger(__name__)

#: Extra work for the settling transaction (the webhook inbox marks its row there).
Within = Callable[[PaymentsUnitOfWork], Awaitable[None]]


class _AskTheGateway(Exception):
    """``apply`` met an unverified success for an intent we ended: the gateway is asked first."""


class PaymentSettlement:
    def __init__(self, uow: Callable[[], PaymentsUnitOfWork], gateways: GatewayRegistry, clock: Clock, ids: IdGenerator,
                 cache: CacheAside | None = None, on_status=None, refunds: Refunds | None = None) -> None:
        self.uow, self.gateways, self.clock, self.ids, self.cache = uow, gateways, clock, ids, cache
        self.on_status = on_status or (lambda gateway, status: None)
        #: sends the automatic refunds of captures that cannot pay their order (the worker follows them)
        self.refunds = refunds

    async def verify(self, payment: PaymentIntent, hint: str | None = None) -> VerifiedPayment:
        """What the payment's own gateway says now. ``hint``: the gateway's id for it from a
        redirect (Stripe's ``session_id``), used only when we hold none, and only to ask."""
        gateway = self.gateways.get(payment.gateway)
        if gateway is None:
            raise GatewayUnavailable(f"gateway {payment.gateway} is not enabled", gateway=payment.gateway,
                                     retryable=True)
        return await gateway.verify_payment(payment.reference, payment.gateway_reference or hint)

    async def close(self, payment: PaymentIntent) -> VerifiedPayment:
        """Close the payment's page at its gateway (where the gateway can), and what it says then:
        a success that beat the close is reported, never hidden."""
        gateway = self.gateways.get(payment.gateway)
        if gateway is None:
            raise GatewayUnavailable(f"gateway {payment.gateway} is not enabled", gateway=payment.gateway,
                                     retryable=True)
        return await gateway.expire_payment(payment.reference, payment.gateway_reference)

    async def verify_and_apply(self, reference: str, within: Within | None = None, hint: str | None = None,
                               source: str | None = None, callback: Mapping[str, str] | None = None
                               ) -> PaymentIntent:
        """Ask the payment's gateway what happened to ``reference`` and apply it (callbacks,
        check-status, the worker, reconcile, weakly signed webhooks). ``source``: the gateway whose
        message made us ask; a payment of another gateway is not asked about (ForeignReport).
        ``callback``: the redirect's query, where the gateway may name its own id for the payment
        (Stripe's ``session_id``): asked with, when we hold none, never believed alone."""
        payment = await self._read(reference)
        if source is not None and payment.gateway != source:
            raise ForeignReport(f"this payment is not a {source} payment", reference=reference)
        if callback and hint is None and payment.gateway_reference is None:
            gateway = self.gateways.get(payment.gateway)
            hint = gateway.callback_gateway_reference(callback) if gateway is not None else None
        if payment.status is PaymentStatus.SUCCEEDED:  # nothing a gateway says can move it
            if within is not None:
                async with self.uow() as uow:
                    await within(uow)
                    await uow.commit()
            return payment
        report = await self.verify(payment, hint)
        return await self.apply(reference, report, source=payment.gateway, within=within, verified=True)

    async def _read(self, reference: str) -> PaymentIntent:
        async with self.uow() as uow:
            payment = await uow.payments.get_by_reference(reference)
        if payment is None:
            raise NotFound("no payment with this reference", reference=reference)
        return payment

    async def apply(self, reference: str, report: VerifiedPayment, *, source: str, within: Within | None = None,
                    verified: bool = False) -> PaymentIntent:
        """Apply ``report`` from gateway ``source`` under the payment's and the order's row locks.

        ``verified``: the report is the gateway's answer to our own status query (not a payload
        pushed to us). A success for an intent we ended is believed only then, so an unverified one
        is checked with the gateway first. ``within`` runs in the same transaction, whether or not
        the report changes anything (not when the payment is unknown or the report is foreign)."""
        now = self.clock.now()
        refund: Refund | None = None
        # an unverified success for an intent we ended is believed only once the gateway confirms it:
        # decided on the row as locked (no read before the lock), and asked once the lock is let go
        try:
            async with self.uow() as uow:
                payment = await uow.payments.lock_by_reference(reference)
                if payment is None:
                    raise NotFound("no payment with this reference", reference=reference)
                if payment.gateway != source:
                    log.error("payment %s belongs to %s; a report from %s was refused", payment.id, payment.gateway,
                              source)
                    raise ForeignReport(f"this payment is not a {source} payment", reference=reference)
                if report.status is PaymentStatus.SUCCEEDED and not verified and payment.may_still_capture:
                    raise _AskTheGateway  # rolled back: nothing was written, and the lock is let go
                if not payment.should_apply(report.status, verified=verified):
                    if within is not None:
                        await within(uow)
                        await uow.commit()
                    return payment
                order = await uow.orders.lock(payment.order_id)
                ctx = order.context()
                if report.status is PaymentStatus.SUCCEEDED:
                    refund = await self._capture(uow, payment, order, report, now)
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
                await invalidation.stage(uow, self.cache, payments=(payment,), orders=(order,),
                                         refunds=(refund,) if refund else ())
                await uow.commit()
        except _AskTheGateway:
            return await self.verify_and_apply(reference, within)
        self.on_status(payment.gateway, payment.status.value)
        if refund is not None and self.refunds is not None:
            await self.refunds.send(refund)  # a failure here leaves it pending: the worker follows it
        return payment

    async def _capture(self, uow: PaymentsUnitOfWork, payment: PaymentIntent, order: Order, report: VerifiedPayment,
                       now) -> Refund | None:
        """Record a verified capture; pay the order with it, or reserve its refund."""
        captured = report.amount if report.amount is not None else payment.amount
        if report.currency is not None and report.currency.upper() != payment.currency:
            # money in another currency than we asked for: neither applied nor refundable in ours
            problem = f"currency mismatch: expected {payment.currency}, gateway says {report.currency}"
            log.error("payment %s: %s", payment.id, problem)
            if not payment.is_terminal:
                payment.hold_for_review(problem, now)
            return None
        payment.succeed(order.context(), captured, report.gateway_reference, now, report.payment_method)
        await uow.ledger.append(Transaction(
            id=self.ids.new_id("txn"), payment_id=payment.id, order_id=order.id, type=TransactionType.PAYMENT,
            amount=captured, currency=payment.currency, status=TransactionStatus.SUCCEEDED, gateway=payment.gateway,
            processed_at=now, gateway_reference=payment.gateway_reference))
        why = _why_not_payable(payment, order, captured)
        if why is None:
            order.mark_paid(now, payment.id)
            return None
        log.warning("payment %s captured %s %s it cannot apply (%s): refunding it", payment.id, captured,
                    payment.currency, why)
        # written first: the store checks a refund against the captured amount the payment's row holds
        await uow.payments.save(payment)
        refund = Refund.request(
            id=self.ids.new_id("rfd"), payment=payment, existing=await uow.refunds.amounts(payment.id),
            amount=None, reason="duplicate" if order.payment_id else "late_capture",
            description=f"automatic: {why}", ctx=order.context(), now=now)
        # its create call goes out after the commit: counted (and the worker's look scheduled) first,
        # like every refund's, so a death or a lost answer leaves it to the worker
        refund.sending(now, FIRST_LOOK)
        await uow.payments.save(payment)  # the capture first: the refund is checked against it
        await uow.refunds.add(refund)
        return refund


def _why_not_payable(payment: PaymentIntent, order: Order, captured: int) -> str | None:
    """Why this capture cannot pay its order (None: it pays it)."""
    if order.status is not OrderStatus.PENDING:
        return f"the order is {order.status.value}" + (f" (paid by {order.payment_id})" if order.payment_id else "")
    if captured < payment.amount:
        return f"the gateway captured {captured} of {payment.amount}"
    return None
