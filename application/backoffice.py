"""What the admin API reads and does across every user: the lists with their filters, a payment as
support sees it, the failed webhooks (inspect, retry now), refunding any payment, and the fraud
review queue (approve: the payment goes on to its gateway; reject: it fails, the customer is told).

Every operation is for admins only (``Forbidden`` otherwise), checked here as well as at the edge."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from application.errors import Conflict, NotFound
from application.fulfilment import admin_only
from application.payments.initiate import InitiatePayment
from application.payments.refunds import Refunds
from application.payments.webhooks import Webhooks
from application.ports import Page
from application.ports.backoffice import AdminFilters, AdminReadModel, AdminReports, Verification
from application.ports.payments import PaymentsUnitOfWork
from application.redaction import redact_payload
from domain.orders import Order
from domain.payments import PaymentIntent, PaymentStatus, Refund, Transaction
from domain.users import Principal
from domain.webhooks import WebhookEvent


@attrs.frozen
class PaymentDetail:
    """A payment with what support needs: its order, refunds, ledger rows, the webhooks received
    for it and what its gateway answered when asked (newest first)."""

    payment: PaymentIntent
    order: Order | None
    refunds: list[Refund]
    ledger: list[Transaction]
    webhooks: list[WebhookEvent]
    verifications: list[Verification]


@attrs.frozen
class WebhookDetail:
    webhook: WebhookEvent
    #: the stored body with personal data and secrets redacted
    payload: Any


class Backoffice:
    def __init__(self, uow: Callable[[], PaymentsUnitOfWork], read: AdminReadModel, refunds: Refunds,
                 webhooks: Webhooks, initiate: InitiatePayment, reports: AdminReports | None = None) -> None:
        """``reports`` serves the three lists (a read replica's, in a deployment with one); ``read``
        everything a person acts on (by default both are ``read``)."""
        self.uow, self.read, self.refunds, self.webhooks, self.initiate = uow, read, refunds, webhooks, initiate
        self.reports: AdminReports = read if reports is None else reports  # type: ignore[assignment]

    # -- lists -----------------------------------------------------------------------------------
    async def orders(self, principal: Principal, filters: AdminFilters, limit: int, cursor: str | None) -> Page:
        admin_only(principal)
        return await self.reports.list_orders(filters, limit=limit, cursor=cursor)

    async def payments(self, principal: Principal, filters: AdminFilters, limit: int, cursor: str | None) -> Page:
        admin_only(principal)
        return await self.reports.list_payments(filters, limit=limit, cursor=cursor)

    async def refund_list(self, principal: Principal, filters: AdminFilters, limit: int, cursor: str | None) -> Page:
        admin_only(principal)
        return await self.reports.list_refunds(filters, limit=limit, cursor=cursor)

    # -- one order, one payment ------------------------------------------------------------------
    async def order(self, principal: Principal, order_id: str) -> tuple[Order, list[PaymentIntent]]:
        """The order and its payments (newest first)."""
        admin_only(principal)
        async with self.uow() as uow:
            order = await uow.orders.get(order_id)
        if order is None:
            raise NotFound("no such order", order_id=order_id)
        return order, await self.read.payments_of(order.id)

    async def payment(self, principal: Principal, payment_id: str) -> PaymentDetail:
        admin_only(principal)
        async with self.uow() as uow:
            payment = await uow.payments.get(payment_id)
            if payment is None:
                raise NotFound("no such payment", payment_id=payment_id)
            order = await uow.orders.get(payment.order_id)
            refunds = await uow.refunds.for_payment(payment.id)
            ledger = await uow.ledger.for_payment(payment.id)
        return PaymentDetail(payment, order, refunds, ledger, await self.read.webhooks_for(payment.reference),
                             await self.read.verifications(payment.reference))

    async def refund(self, principal: Principal, payment_id: str, *, amount: int | None, reason: str,
                     description: str | None, idempotency_key: str | None, answer=None) -> Refund:
        """Refund any payment (no customer window), through the one refund path (``answer``: the
        Idempotency-Key's staged answer, stored by the settlement's transaction, as for customers)."""
        admin_only(principal)
        return await self.refunds.request(principal, payment_id=payment_id, amount=amount, reason=reason,
                                          description=description, idempotency_key=idempotency_key, answer=answer)

    async def retry_refund_with_customer_details(self, principal: Principal, refund_id: str, *,
                                                 account_number: str, bank_id: str) -> Refund:
        """A refund the gateway holds for the customer's account details (Paystack needs-attention)."""
        admin_only(principal)
        return await self.refunds.retry_with_customer_details(
            refund_id, {"account_number": account_number, "bank_id": bank_id})

    # -- failed webhooks -------------------------------------------------------------------------
    async def failed_webhooks(self, principal: Principal, limit: int, cursor: str | None) -> Page:
        admin_only(principal)
        return await self.read.failed_webhooks(limit=limit, cursor=cursor)

    async def webhook(self, principal: Principal, webhook_id: str) -> WebhookDetail:
        admin_only(principal)
        async with self.uow() as uow:
            entry = await uow.webhooks.get(webhook_id)
        if entry is None:
            raise NotFound("no such webhook", webhook_id=webhook_id)
        return WebhookDetail(entry, redact_payload(entry.payload))

    async def retry_webhook(self, principal: Principal, webhook_id: str) -> WebhookDetail:
        """Process a stored webhook again now (whatever its attempts: a person asked)."""
        admin_only(principal)
        entry = await self.webhooks.process(webhook_id)
        return WebhookDetail(entry, redact_payload(entry.payload))

    # -- the fraud review queue ------------------------------------------------------------------
    async def reviews(self, principal: Principal, limit: int, cursor: str | None) -> Page:
        admin_only(principal)
        return await self.read.held_payments(limit=limit, cursor=cursor)

    async def _held(self, payment_id: str) -> PaymentIntent:
        async with self.uow() as uow:
            payment = await uow.payments.get(payment_id)
        if payment is None:
            raise NotFound("no such payment", payment_id=payment_id)
        if payment.status is not PaymentStatus.REQUIRES_REVIEW:
            raise Conflict(f"this payment is {payment.status.value}, not held for review", status=payment.status.value)
        return payment

    async def approve(self, principal: Principal, payment_id: str) -> PaymentIntent:
        """The payment goes on to its gateway (as its initiation would have); the customer pays there."""
        admin_only(principal)
        await self._held(payment_id)
        return await self.initiate.release(payment_id)

    async def reject(self, principal: Principal, payment_id: str, reason: str) -> PaymentIntent:
        """The payment fails (the customer is notified); the order may be paid another way."""
        admin_only(principal)
        await self._held(payment_id)
        return await self.initiate.reject(payment_id, reason)
