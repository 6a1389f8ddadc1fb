"""Persistence ports of the payments context: intents, refunds, the ledger, the webhook inbox."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from application.ports.orders import OrderRepository
from application.ports.repositories import UnitOfWork
from domain.payments import PaymentIntent, Refund, RefundAmounts, Transaction
from domain.webhooks import WebhookEvent


class PaymentRepository(Protocol):
    """Payment intents. At most one non-terminal intent per order: ``add`` raises AlreadyExists
    when another is active, or when the reference is taken."""

    async def get(self, payment_id: str) -> PaymentIntent | None: ...
    async def lock(self, payment_id: str) -> PaymentIntent | None: ...
    async def get_by_reference(self, reference: str) -> PaymentIntent | None: ...
    async def lock_by_reference(self, reference: str) -> PaymentIntent | None: ...
    async def active_for_order(self, order_id: str) -> PaymentIntent | None: ...
    async def by_reference_or_active(self, reference: str, order_id: str
                                     ) -> tuple[PaymentIntent | None, PaymentIntent | None]:
        """(the intent with ``reference``, the order's active intent), read together (one statement)."""
        ...
    async def add(self, payment: PaymentIntent) -> None: ...
    async def save(self, payment: PaymentIntent) -> None: ...


class RefundRepository(Protocol):
    """Refunds; ``for_payment`` and ``amounts`` are read under the payment's row lock when deciding
    amounts. ``amounts``: what the payment's refunds add up to, ``excluding`` one of them (by id),
    with this unit of work's own writes seen."""

    async def get(self, refund_id: str) -> Refund | None: ...
    async def lock(self, refund_id: str) -> Refund | None: ...
    async def for_payment(self, payment_id: str) -> list[Refund]: ...
    async def amounts(self, payment_id: str, *, excluding: str | None = None) -> RefundAmounts: ...
    async def add(self, refund: Refund) -> None: ...
    async def save(self, refund: Refund) -> None: ...


class Ledger(Protocol):
    """Append-only ledger of money movements. ``append`` of a movement it already records (a
    reused id, a second successful capture of a payment or refund) raises AlreadyExists, at the
    latest when the unit of work commits, and nothing of that unit of work is kept."""

    async def append(self, transaction: Transaction) -> None: ...
    async def for_payment(self, payment_id: str) -> list[Transaction]: ...


class WebhookInbox(Protocol):
    """Received webhooks. ``add`` returns False (and stores nothing) for a known (gateway, event_id)."""

    async def add(self, event: WebhookEvent) -> bool: ...
    async def get(self, webhook_id: str) -> WebhookEvent | None: ...
    async def lock(self, webhook_id: str) -> WebhookEvent | None: ...
    async def save(self, event: WebhookEvent) -> None: ...
    async def pending(self, limit: int, due_by: datetime | None = None,
                      max_attempts: int | None = None) -> list[WebhookEvent]:
        """Received or failed rows, oldest due first: with ``due_by``, only those whose next try
        (``next_attempt_at``, else when received) is due by then; with ``max_attempts``, only those
        tried fewer times."""
        ...


class PaymentsUnitOfWork(UnitOfWork, Protocol):
    """What initiating, settling and refunding payments and taking in webhooks use (and the order
    each payment is for)."""

    payments: PaymentRepository
    refunds: RefundRepository
    ledger: Ledger
    webhooks: WebhookInbox
    orders: OrderRepository
