"""Postgres adapters of the back office: the admin lists (the read model's keyset pages with the
admin filters), the analytics aggregates, the gateway configuration rows and the record of what
gateways answered. Every query is served by an index (``adapters/postgres/explain.py`` checks)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiopg

from adapters.postgres import db
from adapters.postgres.mapping import Table, _utc
from adapters.postgres.orders import ORDERS
from adapters.postgres.payments import PAYMENTS, REFUNDS, WEBHOOKS
from adapters.postgres.read_model import PostgresReadModel, _timestamp
from application.errors import ConcurrencyConflict
from application.pagination import decode_cursor, encode_cursor
from application.ports import Page
from application.ports.backoffice import AdminFilters, AnalyticsRows, ConfigEntry, Verification

#: rows whose payment (``column``) is one of the gateway's
_BY_GATEWAY = "{column} IN (SELECT p.id FROM payment_intents p WHERE p.gateway = %s)"
_VERIFICATION_COLUMNS = ("reference", "gateway", "operation", "at", "found", "status", "raw_status", "amount",
                         "currency", "gateway_reference", "payment_method", "error")


def _where(clauses: list[tuple[str, Any]]) -> tuple[list[str], list[Any]]:
    """The clauses whose value is given (not None), each with its one parameter."""
    given = [(clause, value) for clause, value in clauses if value is not None]
    return [clause for clause, _ in given], [value for _, value in given]


class PostgresAdminReadModel(PostgresReadModel):
    """``AdminReadModel``: everyone's rows, newest first by (created_at, id), with the admin filters."""

    def _filters(self, f: AdminFilters, *more: tuple[str, Any], via_order: str | None = "t.order_id"
                 ) -> tuple[list[str], list[Any]]:
        """Status, currency and the creation range on the row itself; the customer's e-mail and the
        order number through its order (``via_order``: the column naming it; None: the row is one)."""
        if via_order is None:
            customer = [("lower(t.customer_email) = lower(%s)", f.email), ("t.order_number = %s", f.order_number)]
        else:
            orders = f"{via_order} IN (SELECT o.id FROM orders o WHERE "
            customer = [(orders + "lower(o.customer_email) = lower(%s))", f.email),
                        (orders + "o.order_number = %s)", f.order_number)]
        return _where([("t.status = %s", f.status), ("t.currency = %s", f.currency),
                       ("t.created_at >= %s", f.created_from), ("t.created_at < %s", f.created_to),
                       *customer, *more])

    async def list_orders(self, filters, *, limit, cursor) -> Page:  # type: ignore[override]
        where, params = self._filters(filters, (_BY_GATEWAY.format(column="t.payment_id"), filters.gateway),
                                      via_order=None)
        return await self._page(ORDERS, where, params, limit, cursor)

    async def list_payments(self, filters, *, limit, cursor) -> Page:  # type: ignore[override]
        where, params = self._filters(filters, ("t.gateway = %s", filters.gateway))
        return await self._page(PAYMENTS, where, params, limit, cursor)

    async def list_refunds(self, filters, *, limit, cursor) -> Page:  # type: ignore[override]
        where, params = self._filters(filters, (_BY_GATEWAY.format(column="t.payment_id"), filters.gateway),
                                      ("t.needs_attention = %s", filters.needs_attention))
        return await self._page(REFUNDS, where, params, limit, cursor)

    async def _keyset(self, table: Table, where: str, column: str, limit: int, cursor: str | None,
                      newest_first: bool = True) -> Page:
        """A page of ``table`` ordered by (``column``, id)."""
        clauses, params = [where], []
        op, direction = ("<", "DESC") if newest_first else (">", "ASC")
        if cursor:
            sort_key, item_id = decode_cursor(cursor)
            clauses.append(f"(t.{column}, t.id) {op} (%s, %s)")
            params += [_timestamp(sort_key), item_id]
        sql = (f"{table.select()} WHERE {' AND '.join(clauses)} "
               f"ORDER BY t.{column} {direction}, t.id {direction} LIMIT %s")
        rows = await self._fetch(sql, [*params, limit + 1])
        items = [table.from_row(r) for r in rows[:limit]]
        more = len(rows) > limit and items
        return Page(items, encode_cursor(getattr(items[-1], column).isoformat(), items[-1].id) if more else None)

    async def failed_webhooks(self, *, limit, cursor) -> Page:
        return await self._keyset(WEBHOOKS, "t.status = 'failed'", "received_at", limit, cursor)

    async def held_payments(self, *, limit, cursor) -> Page:
        return await self._keyset(PAYMENTS, "t.status = 'requires_review'", "updated_at", limit, cursor,
                                  newest_first=False)

    async def payments_of(self, order_id):
        rows = await self._fetch(f"{PAYMENTS.select()} WHERE t.order_id = %s ORDER BY t.created_at DESC, t.id DESC",
                                 [order_id])
        return [PAYMENTS.from_row(r) for r in rows]

    async def webhooks_for(self, reference, limit=50):
        rows = await self._fetch(f"{WEBHOOKS.select()} WHERE t.reference = %s ORDER BY t.received_at DESC, t.id DESC "
                                 "LIMIT %s", [reference, limit])
        return [WEBHOOKS.from_row(r) for r in rows]

    async def verifications(self, reference, limit=20):
        rows = await self._fetch(f"SELECT {', '.join(_VERIFICATION_COLUMNS)} FROM gateway_verifications "
                                 "WHERE reference = %s ORDER BY at DESC, id DESC LIMIT %s", [reference, limit])
        return [Verification(**{**r, "at": _utc(r["at"])}) for r in rows]


#: the analytics' statements, by name (the explain test runs each)
ANALYTICS_SQL = {
    "ledger": "SELECT (t.processed_at AT TIME ZONE 'UTC')::date AS day, t.currency, t.gateway, t.type, "
              "sum(t.amount)::bigint AS amount, count(*) AS n FROM transactions t "
              "WHERE t.processed_at >= %s AND t.processed_at < %s AND t.status = 'succeeded' "
              "GROUP BY 1, 2, 3, 4",
    "outcomes": "SELECT t.status, count(*) AS n FROM payment_intents t "
                "WHERE t.created_at >= %s AND t.created_at < %s GROUP BY t.status",
    "orders": "SELECT t.status, count(*) AS n FROM orders t WHERE t.created_at >= %s AND t.created_at < %s "
              "GROUP BY t.status",
    "paid_orders": "SELECT t.currency, count(*) AS n, sum(t.total)::bigint AS total FROM orders t "
                   "WHERE t.created_at >= %s AND t.created_at < %s AND t.paid_at IS NOT NULL GROUP BY t.currency",
    "products": "SELECT i.sku, min(i.name) AS name, t.currency, sum(i.quantity)::bigint AS quantity, "
                "sum(i.unit_price * i.quantity)::bigint AS revenue FROM orders t "
                "JOIN order_items i ON i.order_id = t.id "
                "WHERE t.created_at >= %s AND t.created_at < %s AND t.paid_at IS NOT NULL "
                "AND t.status NOT IN ('refunded', 'cancelled') "
                "GROUP BY i.sku, t.currency ORDER BY revenue DESC, i.sku LIMIT %s",
}


class PostgresAnalytics:
    """``AnalyticsQueries``: five aggregate statements (point ``pool`` at a read replica to offload them)."""

    def __init__(self, pool: aiopg.Pool) -> None:
        self.pool = pool

    async def _fetch(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        return await db.fetch(self.pool, sql, params)

    async def rows(self, start: datetime, end: datetime, top: int = 10) -> AnalyticsRows:
        ledger = await self._fetch(ANALYTICS_SQL["ledger"], [start, end])
        rows = {name: await self._fetch(ANALYTICS_SQL[name], [start, end])
                for name in ("outcomes", "orders", "paid_orders")}
        products = await self._fetch(ANALYTICS_SQL["products"], [start, end, top])
        by_type: dict[str, list] = {"payment": [], "refund": []}
        for r in ledger:
            by_type[r["type"]].append((r["day"], r["currency"], r["gateway"], int(r["amount"]), int(r["n"])))
        return AnalyticsRows(
            captured=by_type["payment"], refunded=by_type["refund"],
            outcomes={r["status"]: int(r["n"]) for r in rows["outcomes"]},
            orders={r["status"]: int(r["n"]) for r in rows["orders"]},
            paid_orders=[(r["currency"], int(r["n"]), int(r["total"])) for r in rows["paid_orders"]],
            products=[(r["sku"], r["name"], r["currency"], int(r["quantity"]), int(r["revenue"])) for r in products])


class PostgresPaymentConfigStore:
    """``PaymentConfigStore`` over ``payment_config`` (one row per name, versioned)."""

    def __init__(self, pool: aiopg.Pool) -> None:
        self.pool = pool

    async def get(self, name: str) -> ConfigEntry | None:
        rows = await db.fetch(self.pool, "SELECT name, value, version, updated_at, updated_by FROM payment_config "
                                         "WHERE name = %s", [name])
        return ConfigEntry(**{**rows[0], "updated_at": _utc(rows[0]["updated_at"])}) if rows else None

    async def save(self, entry: ConfigEntry) -> None:
        value = json.dumps(entry.value, sort_keys=True)
        if entry.version == 1:
            sql = ("INSERT INTO payment_config (name, value, version, updated_at, updated_by) "
                   "VALUES (%s, %s, 1, %s, %s) ON CONFLICT (name) DO NOTHING RETURNING name")
            params = [entry.name, value, entry.updated_at, entry.updated_by]
        else:
            sql = ("UPDATE payment_config SET value = %s, version = %s, updated_at = %s, updated_by = %s "
                   "WHERE name = %s AND version = %s RETURNING name")
            params = [value, entry.version, entry.updated_at, entry.updated_by, entry.name, entry.version - 1]
        if not await db.fetch(self.pool, sql, params):
            raise ConcurrencyConflict(f"the {entry.name} configuration was changed by someone else; reload it")


class PostgresVerificationLog:
    def __init__(self, pool: aiopg.Pool) -> None:
        self.pool = pool

    async def record(self, v: Verification) -> None:
        marks = ", ".join(["%s"] * len(_VERIFICATION_COLUMNS))
        await db.fetch(self.pool, f"INSERT INTO gateway_verifications ({', '.join(_VERIFICATION_COLUMNS)}) "
                                  f"VALUES ({marks}) RETURNING id", [getattr(v, c) for c in _VERIFICATION_COLUMNS])


#: This module's tables (no repository serves them).
TABLES = ("payment_config", "gateway_verifications")
