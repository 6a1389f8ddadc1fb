"""Memory repositories of the payments context: intents, refunds, the ledger, the webhook inbox."""
from __future__ import annotations

from collections.abc import Callable

from adapters.memory.session import MemorySession
from adapters.memory.table import MemoryTable
from application.errors import AlreadyExists
from domain.payments import (
    PAYMENT_TERMINAL,
    PaymentIntent,
    Refund,
    RefundAmounts,
    Transaction,
    TransactionStatus,
    TransactionType,
)
from domain.webhooks import WebhookEvent, WebhookStatus


class MemoryPayments(MemoryTable):
    table = "payments"

    async def get_by_reference(self, reference: str) -> PaymentIntent | None:
        return self._find(lambda p: p.reference == reference, by=("reference", reference))

    lock_by_reference = get_by_reference

    async def active_for_order(self, order_id: str) -> PaymentIntent | None:
        return self._find(lambda p: p.order_id == order_id and p.status not in PAYMENT_TERMINAL,
                          by=("order_id", order_id))

    async def by_reference_or_active(self, reference: str, order_id: str
                                     ) -> tuple[PaymentIntent | None, PaymentIntent | None]:
        return await self.get_by_reference(reference), await self.active_for_order(order_id)

    async def add(self, payment: PaymentIntent) -> None:
        if await self.get_by_reference(payment.reference):
            raise AlreadyExists("payment reference exists", reference=payment.reference)
        if await self.active_for_order(payment.order_id):
            raise AlreadyExists("the order already has a payment in progress", order_id=payment.order_id)
        self._insert(payment.id, payment)

    async def save(self, payment: PaymentIntent) -> None:
        if payment.status not in PAYMENT_TERMINAL:
            other = self._find(lambda p: p.order_id == payment.order_id and p.id != payment.id
                               and p.status not in PAYMENT_TERMINAL, by=("order_id", payment.order_id))
            if other:
                raise AlreadyExists("the order already has a payment in progress", order_id=payment.order_id)
        await super().save(payment)


class MemoryRefunds(MemoryTable):
    table = "refunds"

    async def for_payment(self, payment_id: str) -> list[Refund]:
        return self._find_all(lambda r: r.payment_id == payment_id, by=("payment_id", payment_id))

    async def amounts(self, payment_id: str, *, excluding: str | None = None) -> RefundAmounts:
        return RefundAmounts.of(r for r in await self.for_payment(payment_id) if r.id != excluding)

    async def add(self, refund: Refund) -> None:
        self._insert(refund.id, refund)


class MemoryLedger:
    def __init__(self, session: MemorySession) -> None:
        self.session = session

    async def append(self, transaction: Transaction) -> None:
        """The Postgres schema's unique keys, kept here: a reused id, a second successful capture of
        a payment, a second successful ledger row of a refund (a double charge or refund)."""
        if any(_same_movement(t, transaction) for t in self.session.ledger_rows()):
            raise AlreadyExists("the ledger already records this money movement",
                                transaction_id=transaction.id, payment_id=transaction.payment_id)
        self.session.append_ledger(transaction)

    async def for_payment(self, payment_id: str) -> list[Transaction]:
        return [t for t in self.session.ledger_rows() if t.payment_id == payment_id]


class MemoryWebhooks(MemoryTable):
    table = "webhooks"

    async def add(self, event: WebhookEvent) -> bool:
        if self._find(lambda w: w.gateway == event.gateway and w.event_id == event.event_id,
                      by=("event_id", event.event_id)):
            return False
        self._insert(event.id, event)
        return True

    async def pending(self, limit: int, due_by=None, max_attempts: int | None = None) -> list[WebhookEvent]:
        def due(w) -> bool:
            return (w.status in (WebhookStatus.RECEIVED, WebhookStatus.FAILED)
                    and (max_attempts is None or w.attempts < max_attempts)
                    and (due_by is None or (w.next_attempt_at or w.received_at) <= due_by))
        rows = self._find_all(due)
        return sorted(rows, key=lambda w: (w.next_attempt_at or w.received_at, w.id))[:limit]


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {
    "payments": MemoryPayments,
    "refunds": MemoryRefunds,
    "ledger": MemoryLedger,
    "webhooks": MemoryWebhooks,
}


def _same_movement(a: Transaction, b: Transaction) -> bool:
    if a.id == b.id:
        return True
    succeeded = TransactionStatus.SUCCEEDED
    if a.status is not succeeded or b.status is not succeeded or a.type is not b.type:
        return False
    if a.type is TransactionType.PAYMENT:
        return a.payment_id == b.payment_id
    return a.type is TransactionType.REFUND and a.refund_id is not None and a.refund_id == b.refund_id
