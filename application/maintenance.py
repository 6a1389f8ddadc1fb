"""The background worker's jobs and the reconciler (``payport worker`` / ``payport reconcile``).

Each job is idempotent and safe to run in several processes at once: every decision it triggers is
taken again by the settlement code under row locks.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import attrs

from application.errors import GatewayError, NotFound
from application.jobs import each_isolated
from application.payments.refunds import Refunds
from application.payments.settle import PaymentSettlement
from application.payments.webhooks import Webhooks
from application.ports import Clock, GatewayRegistry, IdGenerator, VerifiedPayment
from application.ports.maintenance import MaintenanceQueries
from application.ports.payments import PaymentsUnitOfWork
from domain.payments import PaymentIntent, PaymentStatus, RefundStatus, Transaction, TransactionStatus, TransactionType
from domain.webhooks import WebhookEvent

log = logging.getLogger(__name__)


@attrs.define
class Finding:
    kind: str
    subject: str
    detail: str
    repaired: bool = False


class Maintenance:
    def __init__(self, uow: Callable[[], PaymentsUnitOfWork], queries: MaintenanceQueries, settlement: PaymentSettlement,
                 refunds: Refunds, webhooks: Webhooks, gateways: GatewayRegistry, clock: Clock,
                 ids: IdGenerator, stuck_after: float = 120, refund_retry_after: float = 60) -> None:
        self.uow, self.queries, self.settlement, self.refunds = uow, queries, settlement, refunds
        self.webhooks, self.gateways, self.clock, self.ids = webhooks, gateways, clock, ids
        self.stuck_after, self.refund_retry_after = stuck_after, refund_retry_after

    async def run_once(self, limit: int = 100) -> dict[str, int]:
        return {
            "webhooks": await self.webhooks.process_pending(limit),
            "payments": await self.settle_open_payments(limit),
            "refunds": await self.retry_pending_refunds(limit),
        }

    async def settle_open_payments(self, limit: int) -> int:
        """Ask the gateway about intents nobody has heard of for a while; expire what is past its
        window and still unpaid there. The gateway is always asked first: a payment made at the
        last second is recorded, never expired. One payment's failure does not stop the others."""
        now = self.clock.now()
        stale = await self.queries.open_payments(updated_before=now - timedelta(seconds=self.stuck_after), limit=limit)
        return await each_isolated(stale, lambda payment: self._settle_open(payment, now), "settling payment")

    async def _settle_open(self, payment: PaymentIntent, now: datetime) -> bool:
        try:
            if payment.status is PaymentStatus.REQUIRES_PAYMENT_METHOD:
                report = None  # never reached the gateway (crashed before phase 2): nothing to ask
            else:
                report = await self.settlement.verify(payment)
        except GatewayError as exc:
            log.warning("payment %s: verify failed (%s); will retry", payment.id, exc.message)
            return False
        if report is not None and report.status is not payment.status:
            await self.settlement.apply(payment.reference, report)
        elif now >= payment.expires_at:
            await self.settlement.apply(payment.reference, VerifiedPayment(
                PaymentStatus.EXPIRED, None, None, None, "expired", "payment window passed"))
        return True

    async def retry_pending_refunds(self, limit: int) -> int:
        """Refunds whose gateway call timed out or failed transiently: call again (idempotent by our
        refund id at the gateway). Returns how many were attempted."""
        now = self.clock.now()
        pending = await self.queries.pending_refunds(created_before=now - timedelta(seconds=self.refund_retry_after),
                                                     limit=limit)
        await each_isolated(pending, lambda refund: self.refunds.resume(refund.id), "retrying refund")
        return len(pending)

    async def failed_webhooks(self, limit: int = 100):
        return await self.queries.failed_webhooks(limit=limit)

    async def reconcile(self, repair: bool = False, limit: int = 1000) -> list[Finding]:
        """Report every broken money invariant; with ``repair``, fix what is safe to fix."""
        findings: list[Finding] = []
        day_ago = self.clock.now() - timedelta(days=1)
        for refund in await self.queries.pending_refunds(created_before=day_ago, limit=limit):
            findings.append(Finding("refund_outcome_unknown", refund.id,
                                    f"{refund.status.value} for over a day: check it at the gateway"))
        after = None
        while True:
            views = await self.queries.succeeded_payments(limit=limit, after_id=after)
            if not views:
                break
            after = views[-1].payment.id
            for view in views:
                findings.extend(await self._checked(view.payment.id, self._check_payment(view, repair)))
        for hook in await self.queries.processed_success_webhooks(limit=limit):
            findings.extend(await self._checked(hook.id, self._check_webhook(hook, repair)))
        return findings

    async def _checked(self, subject: str, check: Awaitable[list[Finding]]) -> list[Finding]:
        """One subject's findings; a check that raises is itself a finding, and the others go on."""
        try:
            return await check
        except Exception as exc:  # noqa: BLE001 - one bad row never stops the scan
            log.warning("reconcile: checking %s failed: %s", subject, exc, exc_info=True)
            return [Finding("check_failed", subject, f"{type(exc).__name__}: {exc}")]

    async def _check_webhook(self, hook: WebhookEvent, repair: bool) -> list[Finding]:
        try:
            payment = await self._payment_by_reference(hook.reference)
        except NotFound:
            return [Finding("webhook_unknown_payment", hook.id, f"reference {hook.reference} unknown")]
        if payment.status is PaymentStatus.SUCCEEDED:
            return []
        finding = Finding("success_webhook_not_applied", payment.id,
                          f"webhook {hook.event_id} says succeeded, payment is {payment.status.value}")
        if repair:
            finding.repaired = (await self.settlement.verify_and_apply(payment.reference)).status \
                is PaymentStatus.SUCCEEDED
        return [finding]

    async def _payment_by_reference(self, reference):
        async with self.uow() as uow:
            payment = await uow.payments.get_by_reference(reference or "")
        if payment is None:
            raise NotFound("unknown reference")
        return payment

    async def _check_payment(self, view, repair: bool) -> list[Finding]:
        p, found = view.payment, []
        paid = sum(t.amount for t in view.transactions
                   if t.type is TransactionType.PAYMENT and t.status is TransactionStatus.SUCCEEDED)
        if paid != p.captured_amount:
            finding = Finding("ledger_mismatch", p.id, f"ledger has {paid}, captured {p.captured_amount}")
            if repair and paid == 0:
                await self._append(p, TransactionType.PAYMENT, p.captured_amount, None)
                finding.repaired = True
            found.append(finding)
        reserved = sum(r.amount for r in view.refunds if r.status is not RefundStatus.FAILED)
        if reserved > p.captured_amount:
            found.append(Finding("refunds_above_captured", p.id, f"refunds {reserved} > captured {p.captured_amount}"))
        ledger_refunds = {t.refund_id for t in view.transactions if t.type is TransactionType.REFUND}
        for refund in view.refunds:
            if refund.status is RefundStatus.SUCCEEDED and refund.id not in ledger_refunds:
                finding = Finding("refund_missing_from_ledger", refund.id, f"{refund.amount} {refund.currency}")
                if repair:
                    await self._append(p, TransactionType.REFUND, refund.amount, refund.id)
                    finding.repaired = True
                found.append(finding)
        if view.order_status in ("pending", "cancelled", "failed"):
            found.append(Finding("paid_for_unpayable_order", p.id,
                                 f"payment succeeded but the order is {view.order_status}: refund or fulfil it"))
        return found

    async def _append(self, payment, kind: TransactionType, amount: int, refund_id: str | None) -> None:
        async with self.uow() as uow:
            await uow.ledger.append(Transaction(
                id=self.ids.new_id("txn"), payment_id=payment.id, order_id=payment.order_id, type=kind, amount=amount,
                currency=payment.currency, status=TransactionStatus.SUCCEEDED, gateway=payment.gateway,
                processed_at=self.clock.now(), gateway_reference=payment.gateway_reference, refund_id=refund_id))
            await uow.commit()
