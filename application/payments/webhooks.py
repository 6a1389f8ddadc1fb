"""Webhooks: verify the signature on the raw bytes, store in the inbox (dedup), then process.

Processing never trusts a weakly signed event (Flutterwave ``verif-hash``, MoMo): it confirms the
outcome with the gateway's verify call before money state moves. A payment event marks its inbox
row in the transaction that settles the payment; anything else is marked after it is applied.
Processing is idempotent, so a crash between applying and marking is repaired by processing again.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from application.errors import Conflict, NotFound, Unauthorized
from application.jobs import each_isolated
from application.payments.refunds import Refunds
from application.payments.settle import PaymentSettlement, Within
from application.ports import (
    Clock,
    GatewayRegistry,
    IdGenerator,
    VerifiedPayment,
    WebhookDedup,
)
from application.ports.payments import PaymentsUnitOfWork
from domain.errors import InvalidValue
from domain.payments import PaymentStatus
from domain.webhooks import GatewayEvent, WebhookEvent, WebhookStatus

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


class Webhooks:
    def __init__(self, uow: Callable[[], PaymentsUnitOfWork], gateways: GatewayRegistry, settlement: PaymentSettlement,
                 refunds: Refunds, clock: Clock, ids: IdGenerator, dedup: WebhookDedup | None = None,
                 on_outcome=None) -> None:
        self.uow, self.gateways, self.settlement, self.refunds = uow, gateways, settlement, refunds
        self.clock, self.ids, self.dedup = clock, ids, dedup
        self.on_outcome = on_outcome or (lambda gateway, outcome: None)

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
            return await getattr(self.dedup, operation)(gateway, event_id)
        except Exception:  # noqa: BLE001
            log.warning("webhook dedup %s failed; relying on the inbox", operation, exc_info=True)
            return None

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
        outcome, error = "processed", None
        marked: list[WebhookEvent] = []  # the row, when the settling transaction marked it

        async def mark_within(uow: PaymentsUnitOfWork) -> None:
            marked.append(await self._mark_in(uow, webhook_id, "processed", None))
        try:
            if gateway is None:
                raise RuntimeError(f"gateway {entry.gateway} is not enabled")
            event = gateway.parse_webhook_event({}, entry.payload.encode(), {"reference": entry.reference or ""})
            outcome = await self._apply(event, gateway.weak_webhook_auth, mark_within)
        except Exception as exc:  # recorded on the inbox row and retried by the worker
            log.warning("webhook %s failed: %s", webhook_id, exc, exc_info=True)
            outcome, error = "failed", f"{type(exc).__name__}: {exc}"
            marked.clear()  # whatever the failed transaction marked was rolled back with it
        entry = marked[0] if marked else await self._mark(webhook_id, outcome, error)
        self.on_outcome(entry.gateway, entry.status.value)
        return entry

    async def _apply(self, event: GatewayEvent, weak_auth: bool, within: Within) -> str:
        """Apply ``event``; ``within`` marks the inbox row in the settling transaction (payments)."""
        if event.refund_status is not None:
            if weak_auth:  # money going out is never recorded on an unverifiable message
                return "ignored"
            refund_id = event.refund_id or await self._refund_for(event)
            if refund_id is None:
                return "ignored"
            await self.refunds.settle(refund_id, event.refund_status, event.gateway_refund_id, None)
            return "processed"
        if event.status is None or not event.reference:
            return "ignored"
        if event.needs_confirmation or event.status is PaymentStatus.SUCCEEDED and event.amount is None:
            await self.settlement.verify_and_apply(event.reference, within)
        else:
            await self.settlement.apply(event.reference, VerifiedPayment(
                status=event.status, amount=event.amount, currency=event.currency,
                gateway_reference=event.gateway_reference, raw_status=event.type), within)
        return "processed"

    async def _refund_for(self, event: GatewayEvent) -> str | None:
        """Our refund for a gateway refund event: by the gateway's refund id, under our payment."""
        if not event.reference or not event.gateway_refund_id:
            return None
        async with self.uow() as uow:
            payment = await uow.payments.get_by_reference(event.reference)
            refunds = await uow.refunds.for_payment(payment.id) if payment else []
        match = [r.id for r in refunds if r.gateway_refund_id == event.gateway_refund_id]
        return match[0] if match else None

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
            entry.ignored(now, "no payment outcome in this event")
        else:
            entry.failed(now, error or "failed")
        await uow.webhooks.save(entry)
        return entry

    async def process_pending(self, limit: int = 100) -> int:
        """Retry received/failed inbox rows (the worker's job); returns how many were attempted.
        A row whose processing raises (rather than failing on its inbox row) does not stop the others."""
        async with self.uow() as uow:
            pending = [w for w in await uow.webhooks.pending(limit) if w.attempts < MAX_ATTEMPTS]
        await each_isolated(pending, lambda entry: self.process(entry.id), "processing webhook")
        return len(pending)
