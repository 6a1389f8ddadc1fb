"""Memory implementation of the worker's and reconciler's queries."""
from __future__ import annotations

from adapters.memory.store import MemoryStore
from application.ports.maintenance import LedgerView
from domain.payments import PAYMENT_TERMINAL, PaymentStatus, RefundStatus
from domain.webhooks import WebhookStatus


class MemoryMaintenanceQueries:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def open_payments(self, *, updated_before, limit):
        rows = [p for p in self.store.tables["payments"].values()
                if p.status not in PAYMENT_TERMINAL and p.updated_at < updated_before]
        return sorted(rows, key=lambda p: p.updated_at)[:limit]

    async def pending_refunds(self, *, created_before, limit):
        rows = [r for r in self.store.tables["refunds"].values()
                if r.status in (RefundStatus.PENDING, RefundStatus.PROCESSING) and r.created_at < created_before]
        return sorted(rows, key=lambda r: r.created_at)[:limit]

    async def succeeded_payments(self, *, limit, after_id):
        payments = sorted((p for p in self.store.tables["payments"].values()
                           if p.status is PaymentStatus.SUCCEEDED and (after_id is None or p.id > after_id)),
                          key=lambda p: p.id)[:limit]
        refunds, orders = self.store.tables["refunds"].values(), self.store.tables["orders"]
        return [LedgerView(p, [r for r in refunds if r.payment_id == p.id],
                           [t for t in self.store.ledger if t.payment_id == p.id], orders[p.order_id].status.value)
                for p in payments]

    async def failed_webhooks(self, *, limit):
        rows = [w for w in self.store.tables["webhooks"].values() if w.status is WebhookStatus.FAILED]
        return sorted(rows, key=lambda w: w.received_at, reverse=True)[:limit]

    async def processed_success_webhooks(self, *, limit):
        rows = [w for w in self.store.tables["webhooks"].values()
                if w.status is WebhookStatus.PROCESSED and w.reported_status == PaymentStatus.SUCCEEDED.value]
        return sorted(rows, key=lambda w: w.received_at)[:limit]
