"""Refunds, full or partial, in phases: reserve (under the payment's row lock), ask the gateway, record.

The reservation is a pending refund row written in the same transaction that checked the
refundable balance, so concurrent requests can never together exceed what was captured.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta

from application import invalidation
from application.caching import CacheAside
from application.errors import AlreadyExists, Conflict, GatewayError, GatewayTimeout
from application.ownership import visible
from application.ports import Clock, GatewayRegistry, IdGenerator, Page, ReadModel, RefundPayment
from application.ports.payments import PaymentsUnitOfWork
from domain.errors import RefundNotAllowed
from domain.payments import Refund, RefundStatus, Transaction, TransactionStatus, TransactionType, refunded_amount
from domain.users import Principal

log = logging.getLogger(__name__)


def refund_id_for(scope: str, idempotency_key: str) -> str:
    return "rfd_" + hashlib.sha256(f"{scope}\x00refund\x00{idempotency_key}".encode()).hexdigest()[:24]


class Refunds:
    def __init__(self, uow: Callable[[], PaymentsUnitOfWork], read_model: ReadModel, gateways: GatewayRegistry,
                 clock: Clock, ids: IdGenerator, customer_window_days: int | None = 30,
                 cache: CacheAside | None = None) -> None:
        self.uow, self.read_model, self.gateways, self.clock, self.ids = uow, read_model, gateways, clock, ids
        self.window = timedelta(days=customer_window_days) if customer_window_days else None
        self.cache = cache

    async def request(self, principal: Principal, *, payment_id: str, amount: int | None, reason: str,
                      description: str | None, idempotency_key: str | None = None) -> Refund:
        """Reserve and ask the gateway. With the caller's Idempotency-Key the refund's id is derived
        from it, so a retry after a crash (even once the key's lock has timed out) finds the same
        refund instead of paying out a second one."""
        refund_id = refund_id_for(principal.id, idempotency_key) if idempotency_key else self.ids.new_id("rfd")
        async with self.uow() as uow:
            earlier = await uow.refunds.get(refund_id)
        if earlier is None:
            try:
                refund = await self._reserve(principal, refund_id, payment_id, amount, reason, description)
            except AlreadyExists:  # a concurrent retry of the same request reserved it first
                earlier = await self.get(principal, refund_id)
            else:
                return await self._ask_gateway(refund)
        if earlier.payment_id != payment_id:
            raise Conflict("this Idempotency-Key was used for a refund of another payment")
        return await self.resume(earlier.id)

    async def resume(self, refund_id: str) -> Refund:
        """Ask the gateway again for a refund left pending (timeout, transient error) — only where
        its refunds are idempotent by our refund id. Elsewhere a second call could pay out twice:
        the refund stays pending for its webhook, and ``reconcile`` reports it for a person."""
        async with self.uow() as uow:
            refund = await uow.refunds.get(refund_id)
            payment = await uow.payments.get(refund.payment_id) if refund else None
        if refund is None or refund.status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED):
            return refund
        gateway = self.gateways.get(payment.gateway)
        if gateway is None or not getattr(gateway, "idempotent_refunds", False):
            return refund
        return await self._ask_gateway(refund)

    async def _ask_gateway(self, refund: Refund) -> Refund:
        async with self.uow() as uow:
            payment = await uow.payments.get(refund.payment_id)
        gateway = self.gateways.get(payment.gateway)
        try:
            if gateway is None:
                raise GatewayError(f"gateway {payment.gateway} is not enabled", retryable=True)
            outcome = await gateway.refund(RefundPayment(
                refund_id=refund.id, reference=payment.reference, gateway_reference=payment.gateway_reference,
                amount=refund.amount, currency=refund.currency, reason=refund.reason))
        except GatewayTimeout:
            log.warning("refund %s: gateway timed out; left pending for the worker", refund.id)
            return refund
        except GatewayError as exc:
            if exc.retryable:
                log.warning("refund %s: gateway failed (%s); left pending for retry", refund.id, exc.message)
                return refund
            return await self.settle(refund.id, RefundStatus.FAILED, None, exc.message)
        return await self.settle(refund.id, outcome.status, outcome.gateway_refund_id, outcome.error)

    async def _reserve(self, principal: Principal, refund_id: str, payment_id: str, amount: int | None,
                       reason: str, description: str | None) -> Refund:
        now = self.clock.now()
        async with self.uow() as uow:
            payment = visible(await uow.payments.lock(payment_id), principal, "payment", payment_id=payment_id)
            if not principal.is_admin and self.window is not None and now - payment.updated_at > self.window:
                raise RefundNotAllowed("the refund window for this payment has passed; contact support")
            order = await uow.orders.get(payment.order_id)
            refund = Refund.request(
                id=refund_id, payment=payment, existing=await uow.refunds.for_payment(payment.id),
                amount=amount, reason=reason, description=description, ctx=order.context(), now=now)
            await uow.refunds.add(refund)
            await uow.commit()
        await invalidation.refund_changed(self.cache, refund)
        return refund

    async def settle(self, refund_id: str, status: RefundStatus, gateway_refund_id: str | None,
                     error: str | None) -> Refund:
        """Apply the gateway's answer for a refund (from the call, a webhook or the worker)."""
        now = self.clock.now()
        async with self.uow() as uow:
            payment_id = (await uow.refunds.get(refund_id)).payment_id
            payment = await uow.payments.lock(payment_id)  # payment first: the same lock order as _reserve
            refund = await uow.refunds.lock(refund_id)
            if refund.status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED) or status is RefundStatus.PENDING:
                return refund
            order = await uow.orders.lock(refund.order_id)
            if refund.status is RefundStatus.PENDING and status is not RefundStatus.FAILED:
                refund.mark_processing(gateway_refund_id, now)
            if status is RefundStatus.SUCCEEDED:
                refund.succeed(order.context(), now)
                await uow.ledger.append(Transaction(
                    id=self.ids.new_id("txn"), payment_id=payment.id, order_id=order.id, type=TransactionType.REFUND,
                    amount=refund.amount, currency=refund.currency, status=TransactionStatus.SUCCEEDED,
                    gateway=payment.gateway, processed_at=now, gateway_reference=refund.gateway_refund_id,
                    refund_id=refund.id))
                await uow.refunds.save(refund)
                refunds = await uow.refunds.for_payment(payment.id)
                order.record_refunds(refunded_amount(refunds), payment.captured_amount, now)
                await uow.orders.save(order)
            elif status is RefundStatus.FAILED:
                refund.fail(order.context(), error, now)
                await uow.refunds.save(refund)
            else:
                await uow.refunds.save(refund)
            await uow.commit()
        await invalidation.changed(self.cache, refunds=(refund,), orders=(order,))
        return refund

    async def get(self, principal: Principal, refund_id: str) -> Refund:
        async with self.uow() as uow:
            refund = await uow.refunds.get(refund_id)
        return visible(refund, principal, "refund", refund_id=refund_id)

    async def list(self, principal: Principal, *, payment_id: str | None, limit: int, cursor: str | None) -> Page:
        return await self.read_model.list_refunds(owner_id=None if principal.is_admin else principal.id,
                                                  payment_id=payment_id, limit=limit, cursor=cursor)
