"""Postgres implementation of the worker's and reconciler's queries (read-only)."""
from __future__ import annotations

from collections import defaultdict

import aiopg

from adapters.postgres import db
from adapters.postgres.payments import PAYMENTS, REFUNDS, TRANSACTIONS, WEBHOOKS
from application.ports.maintenance import LedgerView

_OPEN = "('requires_payment_method', 'requires_action', 'processing')"


class PostgresMaintenanceQueries:
    def __init__(self, pool: aiopg.Pool) -> None:
        self.pool = pool

    async def open_payments(self, *, updated_before, limit):
        rows = await db.fetch(self.pool, f"{PAYMENTS.select()} WHERE t.status IN {_OPEN} AND t.updated_at < %s "
                                         "ORDER BY t.updated_at LIMIT %s", [updated_before, limit])
        return [PAYMENTS.from_row(r) for r in rows]

    async def pending_refunds(self, *, created_before, limit):
        rows = await db.fetch(self.pool, f"{REFUNDS.select()} WHERE t.status IN ('pending', 'processing') "
                                         "AND t.created_at < %s ORDER BY t.created_at LIMIT %s", [created_before, limit])
        return [REFUNDS.from_row(r) for r in rows]

    async def succeeded_payments(self, *, limit, after_id):
        rows = await db.fetch(
            self.pool,
            f"{PAYMENTS.select()} WHERE t.status = 'succeeded' AND t.id > %s ORDER BY t.id LIMIT %s",
            [after_id or "", limit])
        payments = [PAYMENTS.from_row(r) for r in rows]
        if not payments:
            return []
        ids = [p.id for p in payments]
        refunds, ledger = defaultdict(list), defaultdict(list)
        for r in await db.fetch(self.pool, f"{REFUNDS.select()} WHERE t.payment_id = ANY(%s)", [ids]):
            refund = REFUNDS.from_row(r)
            refunds[refund.payment_id].append(refund)
        for r in await db.fetch(self.pool, f"{TRANSACTIONS.select()} WHERE t.payment_id = ANY(%s)", [ids]):
            txn = TRANSACTIONS.from_row(r)
            ledger[txn.payment_id].append(txn)
        statuses = {r["id"]: r["status"] for r in await db.fetch(
            self.pool, "SELECT id, status FROM orders WHERE id = ANY(%s)", [[p.order_id for p in payments]])}
        return [LedgerView(p, refunds[p.id], ledger[p.id], statuses[p.order_id]) for p in payments]

    async def failed_webhooks(self, *, limit):
        rows = await db.fetch(self.pool, f"{WEBHOOKS.select()} WHERE t.status = 'failed' "
                                         "ORDER BY t.received_at DESC LIMIT %s", [limit])
        return [WEBHOOKS.from_row(r) for r in rows]

    async def processed_success_webhooks(self, *, limit):
        rows = await db.fetch(self.pool, f"{WEBHOOKS.select()} WHERE t.status = 'processed' "
                                         "AND t.reported_status = 'succeeded' ORDER BY t.received_at LIMIT %s", [limit])
        return [WEBHOOKS.from_row(r) for r in rows]
