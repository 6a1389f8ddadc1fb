"""Postgres implementation of the worker's and reconciler's queries: keyset-paged reads, and the
worker's scans, which claim the rows they return (one statement: ``FOR UPDATE SKIP LOCKED`` picks
rows no other worker is claiming, and their next look moves a lease ahead)."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import aiopg

from adapters.postgres import db
from adapters.postgres.mapping import Table
from adapters.postgres.orders import ORDERS
from adapters.postgres.payments import PAYMENTS, REFUNDS, TRANSACTIONS, WEBHOOKS
from application.ports.maintenance import LedgerView

_LIVE = "('requires_payment_method', 'requires_action', 'processing')"
_OPEN_REFUND = "('pending', 'processing')"


#: How long a claim holds a row: longer than a pass of the worker takes (a status query is bounded
#: by its gateway's timeouts, and a pass follows at most 100 rows one after another).
CLAIM_LEASE = timedelta(minutes=15)


class PostgresMaintenanceQueries:
    def __init__(self, pool: aiopg.Pool, lease: timedelta = CLAIM_LEASE) -> None:
        self.pool, self.lease = pool, lease

    async def _claim(self, table: Table, column: str, where: str, params: list, limit: int,
                     due: str | None = None, rows: bool = True) -> list:
        """The due rows of ``table`` no other worker holds, soonest first, with ``column`` (their
        next look) moved to now + the lease, committed in the same statement (``rows`` False: their ids)."""
        due = due or f"t.{column}"
        sql = (f"WITH due AS (SELECT t.id, {due} AS due_at FROM {table.name} t WHERE {where} "
               f"ORDER BY {due}, t.id LIMIT %s FOR UPDATE SKIP LOCKED), "
               f"claimed AS (UPDATE {table.name} t SET {column} = %s FROM due WHERE t.id = due.id "
               f"RETURNING t.*, due.due_at) SELECT * FROM claimed ORDER BY due_at, id")
        now = params[-1]
        found = await db.fetch(self.pool, sql, [*params, limit, now + self.lease])
        return [table.from_row(r) for r in found] if rows else [r["id"] for r in found]

    async def _rows(self, table: Table, where: str, params: list, order: str, limit: int) -> list:
        rows = await db.fetch(self.pool, f"{table.select()} WHERE {where} ORDER BY {order} LIMIT %s", [*params, limit])
        return [table.from_row(r) for r in rows]

    async def _page(self, table: Table, where: str, params: list, limit: int, after_id: str | None) -> list:
        return await self._rows(table, f"{where} AND t.id > %s", [*params, after_id or ""], "t.id", limit)

    async def due_payments(self, *, now, limit):
        return await self._claim(PAYMENTS, "next_check_at", f"t.status IN {_LIVE} AND t.next_check_at <= %s",
                                 [now], limit)

    async def due_refunds(self, *, now, limit):
        # a refund never scheduled is due from its creation (as on memory), never invisible
        return await self._claim(REFUNDS, "next_attempt_at",
                                 f"t.status IN {_OPEN_REFUND} AND coalesce(t.next_attempt_at, t.created_at) <= %s",
                                 [now], limit, due="coalesce(t.next_attempt_at, t.created_at)")

    async def due_webhooks(self, *, now, limit, max_attempts, grace):
        due = "coalesce(t.next_attempt_at, t.received_at + %s)"
        sql_due = due.replace("%s", f"interval '{int(grace.total_seconds())} seconds'")
        return await self._claim(WEBHOOKS, "next_attempt_at",
                                 f"t.status IN ('received', 'failed') AND t.attempts < %s AND {sql_due} <= %s",
                                 [max_attempts, now], limit, due=sql_due)

    async def due_cancellations(self, *, now, limit):
        claimed = await self._claim(ORDERS, "refund_due_at", "t.refund_due_at <= %s", [now], limit, rows=False)
        if not claimed:
            return []
        found = {o.id: o for o in await self._rows(ORDERS, "t.id = ANY(%s)", [claimed], "t.id", limit)}
        return [found[i] for i in claimed if i in found]

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
