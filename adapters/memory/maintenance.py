"""Memory implementation of the worker's and reconciler's queries."""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from adapters.memory.store import MemoryStore
from application.ports.maintenance import LedgerView
from domain.orders import OrderStatus
from domain.payments import PaymentStatus, RefundStatus
from domain.webhooks import WebhookStatus

_LIVE = (PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.REQUIRES_ACTION, PaymentStatus.PROCESSING)
_OPEN_REFUND = (RefundStatus.PENDING, RefundStatus.PROCESSING)


def _by_id(rows: Iterable[Any], keep: Callable[[Any], bool], limit: int, after_id: str | None) -> list[Any]:
    return sorted((r for r in rows if keep(r) and (after_id is None or r.id > after_id)), key=lambda r: r.id)[:limit]


#: How long a claim holds a row (as on Postgres).
CLAIM_LEASE = timedelta(minutes=15)


class MemoryMaintenanceQueries:
    def __init__(self, store: MemoryStore, lease: timedelta = CLAIM_LEASE) -> None:
        self.store, self.lease = store, lease

    async def _claim(self, choose: Callable[[], list[Any]], column: str, now) -> list[Any]:
        """Claim the committed rows ``choose()`` picks, under the store's lock (as a unit of work's
        commit would write them): their next look moves a lease ahead; copies are returned."""
        async with self.store.lock:
            rows = choose()
            for row in rows:
                setattr(row, column, now + self.lease)
            return [copy.deepcopy(row) for row in rows]

    def _rows(self, table: str) -> list[Any]:
        return [r for r in self.store.tables[table].values() if r is not None]

    async def due_payments(self, *, now, limit):
        def choose():
            rows = [p for p in self._rows("payments")
                    if p.status in _LIVE and p.next_check_at is not None and p.next_check_at <= now]
            return sorted(rows, key=lambda p: (p.next_check_at, p.id))[:limit]
        return await self._claim(choose, "next_check_at", now)

    async def due_refunds(self, *, now, limit):
        def choose():
            rows = [r for r in self._rows("refunds")
                    if r.status in _OPEN_REFUND and (r.next_attempt_at or r.created_at) <= now]
            return sorted(rows, key=lambda r: (r.next_attempt_at or r.created_at, r.id))[:limit]
        return await self._claim(choose, "next_attempt_at", now)

    async def due_webhooks(self, *, now, limit, max_attempts, grace):
        def due_at(w):
            return w.next_attempt_at or w.received_at + grace

        def choose():
            rows = [w for w in self._rows("webhooks") if w.status in (WebhookStatus.RECEIVED, WebhookStatus.FAILED)
                    and w.attempts < max_attempts and due_at(w) <= now]
            return sorted(rows, key=lambda w: (due_at(w), w.id))[:limit]
        return await self._claim(choose, "next_attempt_at", now)

    async def due_cancellations(self, *, now, limit):
        def choose():
            rows = [o for o in self._rows("orders") if o.refund_due_at is not None and o.refund_due_at <= now]
            return sorted(rows, key=lambda o: (o.refund_due_at, o.id))[:limit]
        return await self._claim(choose, "refund_due_at", now)

    async def stale_pending_orders(self, *, created_before, limit):
        rows = [o for o in self._rows("orders") if o.status is OrderStatus.PENDING and o.created_at < created_before]
        return sorted(rows, key=lambda o: (o.created_at, o.id))[:limit]

    async def open_refunds(self, *, created_before, limit, after_id):
        return _by_id(self._rows("refunds"), lambda r: r.status in _OPEN_REFUND and r.created_at < created_before,
                      limit, after_id)

    async def flagged_refunds(self, *, limit, after_id):
        return _by_id(self._rows("refunds"), lambda r: r.needs_attention, limit, after_id)

    async def held_payments(self, *, limit, after_id):
        return _by_id(self._rows("payments"), lambda p: p.status is PaymentStatus.REQUIRES_REVIEW, limit, after_id)

    async def succeeded_payments(self, *, limit, after_id):
        payments = _by_id(self._rows("payments"), lambda p: p.status is PaymentStatus.SUCCEEDED, limit, after_id)
        refunds, orders = self._rows("refunds"), self.store.tables["orders"]
        return [LedgerView(p, [r for r in refunds if r.payment_id == p.id],
                           [t for t in self.store.ledger if t.payment_id == p.id], orders[p.order_id].status.value,
                           orders[p.order_id].payment_id)
                for p in payments]

    async def failed_webhooks(self, *, limit):
        rows = [w for w in self._rows("webhooks") if w.status is WebhookStatus.FAILED]
        return sorted(rows, key=lambda w: w.received_at, reverse=True)[:limit]

    async def processed_success_webhooks(self, *, limit, after_id):
        return _by_id(self._rows("webhooks"), lambda w: w.status is WebhookStatus.PROCESSED
                      and w.reported_status == PaymentStatus.SUCCEEDED.value, limit, after_id)
