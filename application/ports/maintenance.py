"""Queries the background worker and the reconciler need (read-only; decisions re-read under locks)."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

import attrs

from domain.payments import PaymentIntent, Refund, Transaction
from domain.webhooks import WebhookEvent


@attrs.frozen
class LedgerView:
    """A succeeded payment with its refunds and ledger rows, for invariant checks."""

    payment: PaymentIntent
    refunds: list[Refund]
    transactions: list[Transaction]
    order_status: str


class MaintenanceQueries(Protocol):
    """What needs attention: stuck or stale intents, pending refunds, and the ledger for reconciliation."""

    async def open_payments(self, *, updated_before: datetime, limit: int) -> list[PaymentIntent]:
        """Non-terminal intents not touched since ``updated_before`` (oldest first)."""
        ...

    async def pending_refunds(self, *, created_before: datetime, limit: int) -> list[Refund]:
        """Refunds still pending or processing, created before ``created_before``."""
        ...

    async def succeeded_payments(self, *, limit: int, after_id: str | None) -> list[LedgerView]:
        """Succeeded intents with their refunds and ledger rows, by id, for reconciliation."""
        ...

    async def failed_webhooks(self, *, limit: int) -> list[WebhookEvent]:
        """Inbox rows whose processing failed (newest first), for operators."""
        ...

    async def processed_success_webhooks(self, *, limit: int) -> list[WebhookEvent]:
        """Processed inbox rows whose payload reported a payment success (for cross-checking)."""
        ...
