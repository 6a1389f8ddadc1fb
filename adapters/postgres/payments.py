"""Postgres repositories of the payments context: intents, refunds, the ledger, the webhook inbox.

They keep the memory repositories' contract (``adapters/memory/payments.py``): the same
AlreadyExists cases and messages, ``False`` from the inbox on a duplicate.
"""
from __future__ import annotations

from collections.abc import Callable

from adapters.postgres.mapping import Table, fields_of
from adapters.postgres.repo_base import Repository
from adapters.postgres.session import PostgresSession
from application.errors import AlreadyExists
from domain.payments import (
    PaymentIntent,
    PaymentStatus,
    Refund,
    RefundAmounts,
    RefundStatus,
    Transaction,
    TransactionStatus,
    TransactionType,
)
from domain.webhooks import WebhookEvent, WebhookStatus

PAYMENTS = Table("payment_intents", PaymentIntent, "id", fields_of(PaymentIntent), {"status": PaymentStatus},
                 versioned=True)
REFUNDS = Table("refunds", Refund, "id", fields_of(Refund), {"status": RefundStatus}, versioned=True)
TRANSACTIONS = Table("transactions", Transaction, "id", fields_of(Transaction),
                     {"type": TransactionType, "status": TransactionStatus})
WEBHOOKS = Table("webhook_events", WebhookEvent, "id", fields_of(WebhookEvent), {"status": WebhookStatus},
                 versioned=True)

_ACTIVE = "status IN ('requires_payment_method', 'requires_action', 'processing')"
_AMOUNTS = ("SELECT coalesce(sum(amount) FILTER (WHERE status <> 'failed'), 0) AS reserved,"
            " coalesce(sum(amount) FILTER (WHERE status = 'succeeded'), 0) AS refunded"
            " FROM refunds WHERE payment_id = %s AND id <> %s")


class PostgresPayments(Repository):
    """Payment intents: unique reference, unique (gateway, gateway_reference), one active per order."""

    table = PAYMENTS

    async def get_by_reference(self, reference: str) -> PaymentIntent | None:
        return await self._first("reference = %s", [reference])

    async def lock_by_reference(self, reference: str) -> PaymentIntent | None:
        return await self._first("reference = %s", [reference], lock=True)

    async def active_for_order(self, order_id: str) -> PaymentIntent | None:
        return await self._first(f"order_id = %s AND {_ACTIVE}", [order_id])

    async def by_reference_or_active(self, reference: str, order_id: str
                                     ) -> tuple[PaymentIntent | None, PaymentIntent | None]:
        found = await self._select(f"reference = %s OR (order_id = %s AND {_ACTIVE})", [reference, order_id])
        return (next((p for p in found if p.reference == reference), None),
                next((p for p in found if p.order_id == order_id and p.is_live), None))

    async def add(self, payment: PaymentIntent) -> None:
        if not await self._insert(payment):
            if await self.get_by_reference(payment.reference):
                raise AlreadyExists("payment reference exists", reference=payment.reference)
            if await self.active_for_order(payment.order_id):
                raise AlreadyExists("the order already has a payment in progress", order_id=payment.order_id)
            raise AlreadyExists(f"payments {payment.id} exists", gateway_reference=payment.gateway_reference)


class PostgresRefunds(Repository):
    """Refunds; the schema also refuses non-failed refunds above the captured amount."""

    table = REFUNDS

    async def for_payment(self, payment_id: str) -> list[Refund]:
        return await self._select("payment_id = %s", [payment_id], order="created_at, id")

    async def amounts(self, payment_id: str, *, excluding: str | None = None) -> RefundAmounts:
        """Summed in the database: one row however many refunds the payment has (and none of them
        loaded). Sees this transaction's own writes, as ``for_payment`` does."""
        rows = await self.session.fetch(_AMOUNTS, [payment_id, excluding or ""], plain_read=True)
        return RefundAmounts(int(rows[0]["reserved"]), int(rows[0]["refunded"]))

    async def add(self, refund: Refund) -> None:
        if not await self._insert(refund):
            raise AlreadyExists(f"refunds {refund.id} exists")


class PostgresLedger:
    """Append-only: rows are inserted, never updated (a trigger refuses updates but ``reconciled``)."""

    def __init__(self, session: PostgresSession) -> None:
        self.session = session

    async def append(self, transaction: Transaction) -> None:
        """AlreadyExists for a reused id, or a second successful capture of a payment (or refund):
        raised by the next statement of this unit of work or its commit, which the insert goes
        ahead of (deferred: no round trip of its own), and the whole transaction is rolled back."""
        self.session.defer(TRANSACTIONS.insert_sql(), TRANSACTIONS.to_row(transaction))

    async def for_payment(self, payment_id: str) -> list[Transaction]:
        rows = await self.session.fetch(f"{TRANSACTIONS.select()} WHERE payment_id = %s ORDER BY t.seq",
                                        [payment_id])
        return [TRANSACTIONS.from_row(row) for row in rows]


class PostgresWebhooks(Repository):
    """The webhook inbox; (gateway, event_id) is unique."""

    table = WEBHOOKS

    async def add(self, event: WebhookEvent) -> bool:
        if await self._insert(event):
            return True
        if not await self.session.fetch("SELECT 1 FROM webhook_events WHERE gateway = %s AND event_id = %s",
                                        [event.gateway, event.event_id]):
            raise AlreadyExists(f"webhooks {event.id} exists")
        return False

    async def pending(self, limit: int, due_by=None, max_attempts: int | None = None) -> list[WebhookEvent]:
        """Due rows first (a failed one waits ``next_attempt_at``), below the attempt cap."""
        where, params = "status IN ('received', 'failed')", []
        if max_attempts is not None:
            where += " AND attempts < %s"
            params.append(max_attempts)
        if due_by is not None:
            where += " AND coalesce(next_attempt_at, received_at) <= %s"
            params.append(due_by)
        return await self._select(where, params, order="coalesce(next_attempt_at, received_at), id", limit=limit)


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {
    "payments": PostgresPayments,
    "refunds": PostgresRefunds,
    "ledger": PostgresLedger,
    "webhooks": PostgresWebhooks,
}
#: This context's tables, in foreign-key order.
TABLES = ("payment_intents", "refunds", "transactions", "webhook_events")
