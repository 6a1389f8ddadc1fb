"""Postgres implementation of the worker's and reconciler's queries (read-only, keyset-paged by id)."""
from __future__ import annotations

from collections import defaultdict

import aiopg

from adapters.postgres import db
from adapters.postgres.mapping import Table
from adapters.postgres.orders import ORDERS
from adapters.postgres.payments import PAYMENTS, REFUNDS, TRANSACTIONS, WEBHOOKS
from application.ports.maintenance import LedgerView

_LIVE = "('requires_payment_method', 'requires_action', 'processing')"
_OPEN_REFUND = "('pending', 'processing')"


class PostgresMaintenanceQueries:
    def __init__(self, pool: aiopg.Pool) -> None:
        self.pool = pool

    async def _rows(self, table: Table, where: str, params: list, order: str, limit: int) -> list:
        rows = await db.fetch(self.pool, f"{table.select()} WHERE {where} ORDER BY {order} LIMIT %s", [*params, limit])
        return [table.from_row(r) for r in rows]

    async def _page(self, table: Table, where: str, params: list, limit: int, after_id: str | None) -> list:
        return await self._rows(table, f"{where} AND t.id > %s", [*params, after_id or ""], "t.id", limit)

    async def due_payments(self, *, now, limit):
        return await self._rows(PAYMENTS, f"t.status IN {_LIVE} AND t.next_check_at <= %s", [now],
                                "t.next_check_at, t.id", limit)

    async def due_refunds(self, *, now, limit):
        return await self._rows(REFUNDS, f"t.status IN {_OPEN_REFUND} AND t.next_attempt_at <= %s", [now],
                                "t.next_attempt_at, t.id", limit)

    async def stale_pending_orders(self, *, created_before, limit):
        return await self._rows(ORDERS, "t.status = 'pending' AND t.created_at < %s", [created_before],
                                "t.created_at, t.id", limit)

    async def open_refunds(self, *, created_before, limit, after_id):
        return await self._page(REFUNDS, f"t.status IN {_OPEN_REFUND} AND t.created_at < %s", [created_before],
                                limit, after_id)

    async def flagged_refunds(self, *, limit, after_id):
        return await self._page(REFUNDS, "t.needs_attention", [], limit, after_id)

    async def held_payments(self, *, limit, after_id):
        return await self._page(PAYMENTS, "t.status = 'requires_review'", [], limit, after_id)

    async def succeeded_payments(self, *, limit, after_id):
        payments = await self._page(PAYMENTS, "t.status = 'succeeded'", [], limit, after_id)
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
        orders = {r["id"]: r for r in await db.fetch(
            self.pool, "SELECT id, status, payment_id FROM orders WHERE id = ANY(%s)", [[p.order_id for p in payments]])}
        return [LedgerView(p, refunds[p.id], ledger[p.id], orders[p.order_id]["status"], orders[p.order_id]["payment_id"])
                for p in payments]

    async def failed_webhooks(self, *, limit):
        return await self._rows(WEBHOOKS, "t.status = 'failed'", [], "t.received_at DESC", limit)

    async def processed_success_webhooks(self, *, limit, after_id):
        return await self._page(WEBHOOKS, "t.status = 'processed' AND t.reported_status = 'succeeded'", [],
                                limit, after_id)
