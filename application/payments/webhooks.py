"""Webhooks: verify the signature on the raw bytes, store in the inbox (dedup), then process.

Processing never trusts a weakly signed event (Flutterwave ``verif-hash``, MoMo): it confirms the
outcome with the gateway's verify call before money state moves. A payment event marks its inbox
row in the transaction that settles the payment; anything else is marked after it is applied.
Processing is idempotent, so a crash between applying and marking is repaired by processing again.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta

from application.errors import Conflict, DependencyUnavailable, ForeignReport, NotFound, Unauthorized
from application.jobs import each_isolated
from application.outages import OutageTracker
from application.payments.refunds import Refunds
from application.payments.settle import PaymentSettlement, Within
from application.ports import (
    Clock,
    GatewayRegistry,
    IdGenerator,
    PaymentGateway,
    RefundOutcome,
    VerifiedPayment,
    WebhookDedup,
)
from application.ports.payments import PaymentsUnitOfWork
from domain.errors import InvalidValue
from domain.payments import PaymentStatus, RefundStatus
from domain.webhooks import GatewayEvent, WebhookEvent, WebhookStatus

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


def retry_delay(attempts: int) -> timedelta:
    """When a failed inbox row is tried again: 30 s, 1, 2, 4 ... minutes, at most 6 hours."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


class Webhooks:
    def __init__(self, uow: Callable[[], PaymentsUnitOfWork], gateways: GatewayRegistry, settlement: PaymentSettlement,
                 refunds: Refunds, clock: Clock, ids: IdGenerator, dedup: WebhookDedup | None = None,
                 on_outcome=None) -> None:
        self.uow, self.gateways, self.settlement, self.refunds = uow, gateways, settlement, refunds
        self.clock, self.ids, self.dedup = clock, ids, dedup
        self.on_outcome = on_outcome or (lambda gateway, outcome: None)
        self.outages = OutageTracker(log)

    async def receive(self, gateway_name: str, headers: Mapping[str, str], body: bytes,
                      params: Mapping[str, str]) -> tuple[WebhookEvent | None, bool]:
        """Store a verified webhook; returns (inbox entry, whether it is new). Raises on a bad signature."""
        gateway = self.gateways.get(gateway_name)
        if gateway is None:
            raise NotFound(f"no enabled gateway called {gateway_name!r}")
        if not gateway.verify_webhook_signature(headers, body, params):
            self.on_outcome(gateway_name, "bad_signature")
            raise Unauthorized("webhook signature missing or invalid")
        try:
            event = gateway.parse_webhook_event(headers, body, params)
        except (ValueError, KeyError, TypeError) as exc:
            self.on_outcome(gateway_name, "unparseable")
            raise InvalidValue(f"webhook payload not understood: {exc}") from None
        entry = WebhookEvent(
            id=self.ids.new_id("whk"), gateway=gateway_name, event_id=event.event_id, type=event.type,
            payload=body.decode("utf-8", "replace"), signature_ok=True, status=WebhookStatus.RECEIVED,
            received_at=self.clock.now(), reference=event.reference,
            reported_status=event.status.value if event.status else None)
        claim = await self._dedup("claim", gateway_name, event.event_id)
        if claim == "stored":
            self.on_outcome(gateway_name, "duplicate")
            return None, False
        if claim == "in_flight":  # its first delivery is not stored yet and may still fail: never ack
            self.on_outcome(gateway_name, "in_flight")
            raise Conflict("an earlier delivery of this event is still being stored; retry it later",
                           event_id=event.event_id)
        try:
            async with self.uow() as uow:
                added = await uow.webhooks.add(entry)
                await uow.commit()
        except Exception:
            await self._dedup("forget", gateway_name, event.event_id)  # let the gateway's retry through
            raise
        await self._dedup("confirm", gateway_name, event.event_id)
        self.on_outcome(gateway_name, "received" if added else "duplicate")
        return (entry if added else None), added

    async def _dedup(self, operation: str, gateway: str, event_id: str):
        """The fast path is optional: if its backend fails, the inbox constraint still decides."""
        if self.dedup is None:
            return None
        try:
            result = await getattr(self.dedup, operation)(gateway, event_id)
        except Exception as exc:  # noqa: BLE001
            self.outages.failed("webhook dedup", exc, "relying on the inbox")
            return None
        self.outages.recovered("webhook dedup")
        return result

    async def process(self, webhook_id: str, entry: WebhookEvent | None = None) -> WebhookEvent:
        """Apply a stored webhook. ``entry``: the row ``receive`` just stored (saves reading it back)."""
        if entry is None or entry.id != webhook_id:
            async with self.uow() as uow:
                entry = await uow.webhooks.get(webhook_id)
        if entry is None:
            raise NotFound("no such webhook")
        if entry.status in (WebhookStatus.PROCESSED, WebhookStatus.IGNORED):
            return entry
        gateway = self.gateways.get(entry.gateway)
        outcome, why = "processed", None
        marked: list[WebhookEvent] = []  # the row, when the settling transaction marked it

        async def mark_within(uow: PaymentsUnitOfWork) -> None:
            marked.append(await self._mark_in(uow, webhook_id, "processed", None))
        try:
            if gateway is None:
                raise RuntimeError(f"gateway {entry.gateway} is not enabled")
            event = gateway.parse_webhook_event({}, entry.payload.encode(), {"reference": entry.reference or ""})
            outcome, why = await self._apply(entry.gateway, gateway, event, mark_within)
        except Exception as exc:  # recorded on the inbox row and retried by the worker
            # an outage is logged once by its dependency's tracker: no traceback per webhook
            log.warning("webhook %s failed: %s", webhook_id, exc, exc_info=not isinstance(exc, DependencyUnavailable))
            outcome, why = "failed", f"{type(exc).__name__}: {exc}"
            marked.clear()  # whatever the failed transaction marked was rolled back with it
        if outcome != "processed":
            marked.clear()
        entry = marked[0] if marked else await self._mark(webhook_id, outcome, why)
        self.on_outcome(entry.gateway, entry.status.value)
        return entry

    async def _apply(self, source: str, gateway: PaymentGateway, event: GatewayEvent,
                     within: Within) -> tuple[str, str | None]:
        """Apply ``event`` from gateway ``source``: (outcome, why it was ignored). ``within`` marks
        the inbox row in the settling transaction (payments). Only the payment's own gateway is
        heard, and a weakly signed event moves money only through a status query at the gateway."""
        if event.refund_status is not None or event.refund_lookup or event.refund_needs_attention:
            return await self._apply_refund(source, gateway, event)
        if event.status is None or not event.reference:
            return "ignored", "no payment outcome in this event"
        try:
            if (event.needs_confirmation or gateway.weak_webhook_auth
                    or event.status is PaymentStatus.SUCCEEDED and event.amount is None):
                await self.settlement.verify_and_apply(event.reference, within, source=source)
            else:
                await self.settlement.apply(event.reference, VerifiedPayment(
                    status=event.status, amount=event.amount, currency=event.currency,
                    gateway_reference=event.gateway_reference, raw_status=event.type, error=event.error),
                    source=source, within=within)
        except ForeignReport:
            return "ignored", f"the payment it names is not a {source} payment"
        except NotFound:
            return "ignored", "no payment of ours has this reference"
        return "processed", None

    async def _apply_refund(self, source: str, gateway: PaymentGateway, event: GatewayEvent) -> tuple[str, str | None]:
        """A refund event settles the refund it names (by our id, or the gateway's); one that names
        none (Paystack's carry only the payment's reference), or is weakly signed, makes us look
        the payment's refunds up at the gateway instead. Money going out is never recorded on an
        unverifiable message."""
        async with self.uow() as uow:
            payment = await uow.payments.get_by_reference(event.reference) if event.reference else None
            refunds = await uow.refunds.for_payment(payment.id) if payment else []
        if payment is None:
            return "ignored", "no payment of ours has this reference"
        if payment.gateway != source:
            return "ignored", f"the payment it names is not a {source} payment"
        named = [r for r in refunds if r.id == event.refund_id
                 or (event.gateway_refund_id and r.gateway_refund_id == event.gateway_refund_id)]
        if event.refund_needs_attention and named:
            for refund in named:
                await self.refunds.settle(refund.id, RefundOutcome(
                    RefundStatus.PROCESSING, event.gateway_refund_id, event.error or "the gateway needs action",
                    needs_attention=True))
            return "processed", None
        if named and event.refund_status is not None and not gateway.weak_webhook_auth:
            for refund in named:
                await self.refunds.settle(refund.id, RefundOutcome(event.refund_status, event.gateway_refund_id,
                                                                   event.error))
            return "processed", None
        candidates = named or [r for r in refunds if r.status is not RefundStatus.SUCCEEDED]
        if not candidates:
            return "ignored", "no refund of ours matches this event"
        for refund in candidates:  # the gateway's word, by lookup
            await self.refunds.check(refund.id)
        return "processed", None

    async def _mark(self, webhook_id: str, outcome: str, error: str | None) -> WebhookEvent:
        async with self.uow() as uow:
            entry = await self._mark_in(uow, webhook_id, outcome, error)
            await uow.commit()
        return entry

    async def _mark_in(self, uow: PaymentsUnitOfWork, webhook_id: str, outcome: str, error: str | None) -> WebhookEvent:
        """Record ``outcome`` on the inbox row, under its lock, in ``uow`` (the caller commits)."""
        now = self.clock.now()
        entry = await uow.webhooks.lock(webhook_id)
        if entry is None:
            raise NotFound("no such webhook")
        if entry.status in (WebhookStatus.PROCESSED, WebhookStatus.IGNORED):
            return entry
        if outcome == "processed":
            entry.processed(now)
        elif outcome == "ignored":
            entry.ignored(now, error or "no payment outcome in this event")
        else:
            entry.failed(now, error or "failed", retry_in=retry_delay(entry.attempts + 1))
        await uow.webhooks.save(entry)
        return entry

    async def process_pending(self, limit: int = 100) -> int:
        """Retry received/failed inbox rows that are due (the worker's job; each failure pushes the
        next try back, and after ``MAX_ATTEMPTS`` a row waits for a person: the admin list of failed
        webhooks); returns how many were attempted. A row whose processing raises (rather than
        failing on its inbox row) does not stop the others."""
        async with self.uow() as uow:
            pending = await uow.webhooks.pending(limit, due_by=self.clock.now(), max_attempts=MAX_ATTEMPTS)
        await each_isolated(pending, lambda entry: self.process(entry.id), "processing webhook")
        return len(pending)
