"""Queries the background worker and the reconciler need (read-only; decisions re-read under locks)."""
from __future__ import annotations

from datetime import datetime
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
    (``after_id``: the last id of the previous page), so a pass sees every row, not the oldest N."""

    async def due_payments(self, *, now: datetime, limit: int) -> list[PaymentIntent]:
        """Live intents whose next status query is due (``next_check_at <= now``), soonest first."""
        ...

    async def due_refunds(self, *, now: datetime, limit: int) -> list[Refund]:
        """Refunds still pending or processing whose next look is due, soonest first."""
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
