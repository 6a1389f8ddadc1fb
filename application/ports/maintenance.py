"""Queries the background worker and the reconciler need (read-only; decisions re-read under locks)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

import attrs

from domain.orders import Order
from domain.payments import PaymentIntent, Refund, Transaction
from domain.webhooks import WebhookEvent


@attrs.frozen
class LedgerView:
    """A succeeded payment with its refunds and ledger rows, for invariant checks."""

    payment: PaymentIntent
    refunds: list[Refund]
    transactions: list[Transaction]
    order_status: str
    #: the payment that paid the order (None: none did)
    order_payment_id: str | None = None


class MaintenanceQueries(Protocol):
    """What needs attention, and the ledger for reconciliation. Every scan is keyset-paged by id
    (``after_id``: the last id of the previous page), so a pass sees every row, not the oldest N.

    The worker's scans (``due_*``) claim what they return, so that several workers at once never
    work on one row together: each row's next look is pushed a lease ahead (``FOR UPDATE SKIP
    LOCKED`` on Postgres, in one statement), so another worker's scan skips it until this one has
    rescheduled it (as following it always does) or the lease has run out (it crashed)."""

    async def due_payments(self, *, now: datetime, limit: int) -> list[PaymentIntent]:
        """Live intents whose next status query is due (``next_check_at <= now``), soonest first,
        claimed (``next_check_at`` moves a lease ahead)."""
        ...

    async def due_refunds(self, *, now: datetime, limit: int) -> list[Refund]:
        """Refunds still pending or processing whose next look is due, soonest first, claimed
        (``next_attempt_at`` moves a lease ahead)."""
        ...

    async def due_webhooks(self, *, now: datetime, limit: int, max_attempts: int,
                           grace: timedelta) -> list[WebhookEvent]:
        """Inbox rows to process again (received ``grace`` ago and never processed, or failed and
        due), below the attempt cap, soonest first, claimed (``next_attempt_at`` moves a lease ahead)."""
        ...

    async def due_cancellations(self, *, now: datetime, limit: int) -> list[Order]:
        """Cancelled orders whose refund is still to request and due (``refund_due_at <= now``),
        soonest first, claimed (``refund_due_at`` moves a lease ahead)."""
        ...

    async def stale_pending_orders(self, *, created_before: datetime, limit: int) -> list[Order]:
        """Orders still pending, placed before ``created_before`` (oldest first)."""
        ...

    async def open_refunds(self, *, created_before: datetime, limit: int, after_id: str | None) -> list[Refund]:
        """Refunds still pending or processing created before ``created_before``, by id."""
        ...

    async def flagged_refunds(self, *, limit: int, after_id: str | None) -> list[Refund]:
        """Refunds flagged for a person (``needs_attention``), by id."""
        ...

    async def held_payments(self, *, limit: int, after_id: str | None) -> list[PaymentIntent]:
        """Intents held for review, by id."""
        ...

    async def succeeded_payments(self, *, limit: int, after_id: str | None) -> list[LedgerView]:
        """Succeeded intents with their refunds and ledger rows, by id, for reconciliation."""
        ...

    async def failed_webhooks(self, *, limit: int) -> list[WebhookEvent]:
        """Inbox rows whose processing failed (newest first), for operators."""
        ...

    async def processed_success_webhooks(self, *, limit: int, after_id: str | None) -> list[WebhookEvent]:
        """Processed inbox rows whose payload reported a payment success (for cross-checking), by id."""
        ...
