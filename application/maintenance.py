"""The background worker's payment and refund jobs, and the reconciler (``payport worker`` /
``payport reconcile``).

Each job is idempotent and safe to run in several processes at once: every decision it triggers is
taken again by the settlement code under row locks. Each row keeps its own schedule (an intent's
``next_check_at``, a refund's ``next_attempt_at``) and is pushed back when nothing could be learnt,
so rows that cannot be resolved never hold up the others; one row's failure is isolated.

The bound on an unknown outcome: a live intent is asked about until its gateway answers; past its
window, its page is closed at the gateway first (a success that beat the expiry is recorded, and
what the gateway has not finished is never expired); an intent whose outcome is still unknown
``unknown_after`` past its window is held for a person (``requires_review``), never left live.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import attrs

from application import invalidation
from application.caching import CacheAside
from application.errors import DependencyUnavailable, GatewayError, NotFound
from application.jobs import each_isolated
from application.payments.refunds import Refunds
from application.payments.settle import PaymentSettlement
from application.payments.webhooks import Webhooks
from application.ports import Clock, GatewayRegistry, IdGenerator, VerifiedPayment
from application.ports.maintenance import LedgerView, MaintenanceQueries
from application.ports.payments import PaymentsUnitOfWork
from domain.payments import (
    PAYMENT_TERMINAL,
    PaymentIntent,
    PaymentStatus,
    RefundStatus,
    Transaction,
    TransactionStatus,
    TransactionType,
)
from domain.webhooks import WebhookEvent

log = logging.getLogger(__name__)

#: Recreates an intent's gateway page from what was recorded (a create whose answer was lost).
Recover = Callable[[PaymentIntent], Awaitable[PaymentIntent]]
#: The longest wait between two status queries of one intent.
LONGEST_CHECK = timedelta(hours=1)


def check_delay(checks: int) -> timedelta:
    """Backoff between status queries: 1, 2, 4 ... minutes, at most ``LONGEST_CHECK``."""
    return min(timedelta(minutes=2 ** min(checks, 10)), LONGEST_CHECK)


@attrs.define
class Finding:
    kind: str
    subject: str
    detail: str
    repaired: bool = False


@attrs.define
class Report:
    """What one reconcile pass found, and what it looked at."""

    findings: list[Finding]
    covered: dict[str, int]
    started_at: datetime


class Maintenance:
    def __init__(self, uow: Callable[[], PaymentsUnitOfWork], queries: MaintenanceQueries, settlement: PaymentSettlement,
                 refunds: Refunds, webhooks: Webhooks, gateways: GatewayRegistry, clock: Clock,
                 ids: IdGenerator, recover: Recover | None = None, cache: CacheAside | None = None,
                 unknown_after: timedelta = timedelta(hours=24)) -> None:
        self.uow, self.queries, self.settlement, self.refunds = uow, queries, settlement, refunds
        self.webhooks, self.gateways, self.clock, self.ids = webhooks, gateways, clock, ids
        self.recover, self.cache, self.unknown_after = recover, cache, unknown_after

    async def run_once(self, limit: int = 100) -> dict[str, int]:
        return {
            "webhooks": await self.webhooks.process_pending(limit),
            "payments": await self.settle_open_payments(limit),
            "refunds": await self.retry_pending_refunds(limit),
        }

    # -- live intents ---------------------------------------------------------------------------
    async def settle_open_payments(self, limit: int) -> int:
        """Ask the gateway about live intents whose next check is due; past an intent's window,
        close its page at the gateway first, then expire what is still unpaid there."""
        now = self.clock.now()
        due = await self.queries.due_payments(now=now, limit=limit)
        return await each_isolated(due, lambda payment: self._follow_or_later(payment, now), "following payment")

    async def _follow_or_later(self, payment: PaymentIntent, now: datetime) -> bool:
        """``_follow``; a row it raises on (not a gateway's answer: a bug, a row it cannot read) is
        pushed back with the same backoff and, past ``unknown_after``, held for a person, instead of
        being taken again every claim lease for ever. The error still reaches ``each_isolated``."""
        try:
            return await self._follow(payment, now)
        except DependencyUnavailable:
            raise
        except Exception as exc:
            await self._later(payment.id, now, f"following it failed: {type(exc).__name__}: {exc}", keep_claim=True)
            raise

    async def _follow(self, payment: PaymentIntent, now: datetime) -> bool:
        try:
            report = await self.settlement.verify(payment)
            if not report.found and payment.gateway_reference is None and self._recovers(payment):
                payment = await self.recover(payment)  # a create whose answer was lost: the gateway replays it
                if not payment.is_live:
                    return True
                report = await self.settlement.verify(payment)
        except GatewayError as exc:
            await self._later(payment.id, now, f"status query failed: {exc.message}")
            return False
        if report.found and payment.should_apply(report.status, verified=True):
            payment = await self._apply(payment, report)
            if not payment.is_live:
                return True
        if now < payment.expires_at:
            await self._later(payment.id, now, None)
            return True
        try:
            closing = await self.settlement.close(payment)
        except GatewayError as exc:
            await self._later(payment.id, now, f"its page could not be closed at the gateway: {exc.message}")
            return False
        if closing.found and closing.status not in PAYMENT_TERMINAL:
            # the customer submitted a payment the gateway has not finished (a bank debit): never expire it
            await self._later(payment.id, now, f"the gateway still reports it {closing.raw_status} after our window")
            return True
        final = closing if closing.found else VerifiedPayment(
            PaymentStatus.EXPIRED, None, None, None, "expired", "payment window passed")
        await self._apply(payment, final)
        return True

    def _recovers(self, payment: PaymentIntent) -> bool:
        """Whether a lost create is found again only by sending it again (Stripe: no lookup by our
        reference, but its Idempotency-Key replays the session it made)."""
        gateway = self.gateways.get(payment.gateway)
        return self.recover is not None and gateway is not None and not getattr(gateway, "finds_by_reference", True)

    async def _apply(self, payment: PaymentIntent, report: VerifiedPayment) -> PaymentIntent:
        return await self.settlement.apply(payment.reference, report, source=payment.gateway, verified=True)

    async def _later(self, payment_id: str, now: datetime, problem: str | None, keep_claim: bool = False) -> None:
        """Ask again after a backoff; once the outcome has stayed unknown ``unknown_after`` past the
        window, a person decides (the intent is held for review, and listed for admins).
        ``keep_claim``: never sooner than the next look the worker's claim set (a row that raised
        is not taken again before its lease would have let it)."""
        async with self.uow() as uow:
            payment = await uow.payments.lock(payment_id)
            if payment is None or not payment.is_live:
                return
            if problem is not None and now >= payment.expires_at + self.unknown_after:
                payment.hold_for_review(f"outcome unknown {self.unknown_after} after the window: {problem}", now)
                log.error("payment %s held for review: %s", payment.id, payment.review_reason)
            else:
                delay = check_delay(payment.checks)
                if keep_claim and payment.next_check_at is not None:
                    delay = max(delay, payment.next_check_at - now)
                payment.schedule_check(now, delay)
                if problem:
                    payment.last_error = problem
            await uow.payments.save(payment)
            await invalidation.stage(uow, self.cache, payments=(payment,))
            await uow.commit()

    # -- open refunds ---------------------------------------------------------------------------
    async def retry_pending_refunds(self, limit: int) -> int:
        """Refunds whose outcome we lack, when their next look is due: looked up at the gateway
        (never created again while it may hold them). Returns how many were looked at."""
        due = await self.queries.due_refunds(now=self.clock.now(), limit=limit)
        await each_isolated(due, lambda refund: self._follow_refund(refund.id), "following refund")
        return len(due)

    async def _follow_refund(self, refund_id: str):
        """``Refunds.resume``; a refund it raises on is looked at later with the refunds' backoff
        and flagged for a person after ``ATTENTION_AFTER``, like one the gateway cannot resolve."""
        try:
            return await self.refunds.resume(refund_id)
        except DependencyUnavailable:
            raise
        except Exception as exc:
            await self.refunds.later(refund_id, f"following it failed: {type(exc).__name__}: {exc}")
            raise

    async def failed_webhooks(self, limit: int = 100):
        return await self.queries.failed_webhooks(limit=limit)

    # -- reconcile ------------------------------------------------------------------------------
    async def reconcile(self, repair: bool = False, page: int = 500, progress=None) -> list[Finding]:
        """Every broken money invariant; with ``repair``, what is safe to fix is fixed."""
        return (await self.reconcile_report(repair, page, progress)).findings

    async def reconcile_report(self, repair: bool = False, page: int = 500, progress=None) -> Report:
        """Walk everything (keyset pages of ``page`` rows): succeeded payments and their ledger and
        refunds, refunds open over an hour or flagged, intents held for review, processed success
        webhooks. ``covered`` says how many rows of each were looked at; ``progress(name, seen,
        findings)`` (optional) is called after each page."""
        started = self.clock.now()
        report = Report([], {}, started)

        async def walk(name: str, fetch, check) -> None:
            after, seen = None, 0
            while rows := await fetch(after):
                for row in rows:
                    subject = row.payment.id if isinstance(row, LedgerView) else row.id
                    report.findings.extend(await self._checked(subject, check(row)))
                seen += len(rows)
                if progress is not None:
                    progress(name, seen, len(report.findings))
                last = rows[-1]
                after = last.payment.id if isinstance(last, LedgerView) else last.id
            report.covered[name] = seen

        hour_ago = started - timedelta(hours=1)
        await walk("succeeded_payments", lambda a: self.queries.succeeded_payments(limit=page, after_id=a),
                   lambda view: self._check_payment(view, repair))
        await walk("open_refunds", lambda a: self.queries.open_refunds(created_before=hour_ago, limit=page, after_id=a),
                   self._check_open_refund)
        await walk("flagged_refunds", lambda a: self.queries.flagged_refunds(limit=page, after_id=a),
                   self._check_flagged_refund)
        await walk("held_payments", lambda a: self.queries.held_payments(limit=page, after_id=a),
                   self._check_held)
        await walk("success_webhooks", lambda a: self.queries.processed_success_webhooks(limit=page, after_id=a),
                   lambda hook: self._check_webhook(hook, repair))
        return report

    async def _checked(self, subject: str, check: Awaitable[list[Finding]]) -> list[Finding]:
        """One subject's findings; a check that raises is itself a finding, and the others go on."""
        try:
            return await check
        except Exception as exc:  # noqa: BLE001 - one bad row never stops the scan
            log.warning("reconcile: checking %s failed: %s", subject, exc, exc_info=True)
            return [Finding("check_failed", subject, f"{type(exc).__name__}: {exc}")]

    async def _check_open_refund(self, refund) -> list[Finding]:
        if refund.needs_attention:
            return []  # reported as flagged
        return [Finding("refund_outcome_unknown", refund.id,
                        f"{refund.status.value} for over an hour after {refund.attempts} create call(s): "
                        "check it at the gateway")]

    async def _check_flagged_refund(self, refund) -> list[Finding]:
        return [Finding("refund_needs_attention", refund.id, f"{refund.status.value}: {refund.attention}")]

    async def _check_held(self, payment: PaymentIntent) -> list[Finding]:
        return [Finding("payment_held_for_review", payment.id, payment.review_reason or "held for review")]

    async def _check_webhook(self, hook: WebhookEvent, repair: bool) -> list[Finding]:
        try:
            payment = await self._payment_by_reference(hook.reference)
        except NotFound:
            return [Finding("webhook_unknown_payment", hook.id, f"reference {hook.reference} unknown")]
        if payment.status is PaymentStatus.SUCCEEDED:
            return []
        finding = Finding("success_webhook_not_applied", payment.id,
                          f"webhook {hook.event_id} says succeeded, payment is {payment.status.value}")
        if repair and payment.gateway == hook.gateway:
            finding.repaired = (await self.settlement.verify_and_apply(payment.reference)).status \
                is PaymentStatus.SUCCEEDED
        return [finding]

    async def _payment_by_reference(self, reference):
        async with self.uow() as uow:
            payment = await uow.payments.get_by_reference(reference or "")
        if payment is None:
            raise NotFound("unknown reference")
        return payment

    async def _check_payment(self, view: LedgerView, repair: bool) -> list[Finding]:
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
        applied = view.order_payment_id == p.id
        if not applied and reserved < p.captured_amount:
            # money we hold that pays no order: its automatic refund is missing or was given back
            found.append(Finding("capture_not_applied", p.id,
                                 f"{p.captured_amount - reserved} {p.currency} captured"
                                 f"{' late' if p.late_capture else ''} pays no order (the order is "
                                 f"{view.order_status}): refund it"))
        return found

    async def _append(self, payment, kind: TransactionType, amount: int, refund_id: str | None) -> None:
        async with self.uow() as uow:
            await uow.ledger.append(Transaction(
                id=self.ids.new_id("txn"), payment_id=payment.id, order_id=payment.order_id, type=kind, amount=amount,
                currency=payment.currency, status=TransactionStatus.SUCCEEDED, gateway=payment.gateway,
                processed_at=self.clock.now(), gateway_reference=payment.gateway_reference, refund_id=refund_id))
            await uow.commit()
