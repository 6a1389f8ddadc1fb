"""EXPLAIN every list query of the read model, and the back office's (admin lists, analytics
aggregates, the fraud rules' counts): which scans serve them (used by tests, and by hand:
``python -m adapters.postgres.explain "host=... dbname=..."``).

The queries are the read model's own (the same code builds them); with ``enable_seqscan = off`` a
query that still shows a Seq Scan on its table has no usable index.
"""
from __future__ import annotations

import asyncio
import sys
from typing import Any

import aiopg

from datetime import UTC, datetime

from adapters.postgres import db
from adapters.postgres.backoffice import ANALYTICS_SQL, PostgresAdminReadModel
from adapters.postgres.fraud import PostgresFraudSignals
from adapters.postgres.pool import create_pool
from adapters.postgres.read_model import PostgresReadModel
from application.pagination import encode_cursor
from application.ports.backoffice import AdminFilters

_CURSOR = encode_cursor("2026-01-01T12:00:00+00:00", "id_0")
_NONE = {"owner_id": None, "status": None}
#: name -> (read model method, arguments): every filter combination the API uses.
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "orders/admin": ("list_orders", {**_NONE, "workspace_id": None, "search": None}),
    "orders/owner": ("list_orders", {**_NONE, "owner_id": "u", "workspace_id": None, "search": None}),
    "orders/owner+status+search": ("list_orders", {"owner_id": "u", "status": "paid", "workspace_id": None,
                                                   "search": "PP"}),
    "orders/status": ("list_orders", {**_NONE, "status": "paid", "workspace_id": None, "search": None}),
    "orders/workspace": ("list_orders", {**_NONE, "workspace_id": "w", "search": None}),
    "orders/search": ("list_orders", {**_NONE, "workspace_id": None, "search": "PP"}),
    "payments/admin": ("list_payments", {**_NONE, "order_id": None}),
    "payments/owner": ("list_payments", {**_NONE, "owner_id": "u", "order_id": None}),
    "payments/status": ("list_payments", {**_NONE, "status": "succeeded", "order_id": None}),
    "payments/order": ("list_payments", {**_NONE, "order_id": "o"}),
    "payments/owner+order": ("list_payments", {**_NONE, "owner_id": "u", "order_id": "o"}),
    "refunds/admin": ("list_refunds", {"owner_id": None, "payment_id": None}),
    "refunds/owner": ("list_refunds", {"owner_id": "u", "payment_id": None}),
    "refunds/payment": ("list_refunds", {"owner_id": None, "payment_id": "p"}),
    "notifications/all": ("list_notifications", {"user_id": "u", "unread_only": False}),
    "notifications/unread": ("list_notifications", {"user_id": "u", "unread_only": True}),
    "products/all": ("list_products", {"category": None, "search": None, "include_inactive": False}),
    "products/category": ("list_products", {"category": "tees", "search": None, "include_inactive": True}),
    "products/search": ("list_products", {"category": None, "search": "tee", "include_inactive": False}),
    "products/tag": ("list_products", {"category": None, "search": None, "include_inactive": False, "tag": "gift"}),
}


class _ExplainingReadModel(PostgresReadModel):
    """Runs ``EXPLAIN (FORMAT JSON)`` instead of each query and keeps the plan."""

    def __init__(self, pool: aiopg.Pool) -> None:
        super().__init__(pool)
        self.plan: dict[str, Any] = {}

    async def _fetch(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        async with db.cursor(self.pool) as cur:
            await db.run(cur, "BEGIN; SET LOCAL enable_seqscan = off")
            try:
                await db.run(cur, f"EXPLAIN (FORMAT JSON) {sql}", params)
                (result,) = await cur.fetchone()
            finally:
                await cur.execute("ROLLBACK")
        self.plan = result[0]["Plan"]
        return []


def scans(plan: dict[str, Any]) -> list[str]:
    """Every scan node of ``plan`` as "<node type> on <table> [using <index>]"."""
    found = []
    if "Relation Name" in plan:
        text = f"{plan['Node Type']} on {plan['Relation Name']}"
        if "Index Name" in plan:
            text += f" using {plan['Index Name']}"
        found.append(text)
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


async def explain_list_queries(pool: aiopg.Pool) -> dict[str, list[str]]:
    """Case name (first page and a page after a cursor) -> the scans its plan uses."""
    model = _ExplainingReadModel(pool)
    report: dict[str, list[str]] = {}
    for name, (method, kwargs) in CASES.items():
        for suffix, cursor in (("", None), ("+cursor", _CURSOR if method != "list_products" else
                                            encode_cursor("TEE-1", "prd_1"))):
            await getattr(model, method)(**kwargs, limit=10, cursor=cursor)
            report[name + suffix] = scans(model.plan)
    return report


_F = AdminFilters
_T0, _T1 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
#: name -> (admin read model method, filters): the admin lists' filters, one at a time
ADMIN_CASES: dict[str, tuple[str, AdminFilters]] = {
    "admin/orders": ("list_orders", _F()),
    "admin/orders/status": ("list_orders", _F(status="paid")),
    "admin/orders/currency": ("list_orders", _F(currency="NGN")),
    "admin/orders/email": ("list_orders", _F(email="ada@example.com")),
    "admin/orders/number": ("list_orders", _F(order_number="PP-1")),
    "admin/orders/gateway": ("list_orders", _F(gateway="paystack")),
    "admin/orders/range": ("list_orders", _F(created_from=_T0, created_to=_T1)),
    "admin/payments/gateway": ("list_payments", _F(gateway="paystack")),
    "admin/payments/currency": ("list_payments", _F(currency="NGN")),
    "admin/payments/email": ("list_payments", _F(email="ada@example.com")),
    "admin/payments/number": ("list_payments", _F(order_number="PP-1")),
    "admin/refunds/status": ("list_refunds", _F(status="pending")),
    "admin/refunds/currency": ("list_refunds", _F(currency="NGN")),
    "admin/refunds/gateway": ("list_refunds", _F(gateway="paystack")),
    "admin/refunds/number": ("list_refunds", _F(order_number="PP-1")),
}


class _ExplainingAdmin(PostgresAdminReadModel):
    _fetch = _ExplainingReadModel._fetch

    def __init__(self, pool: aiopg.Pool) -> None:
        super().__init__(pool)
        self.plan: dict[str, Any] = {}


async def _plan(pool: aiopg.Pool, sql: str, params: list[Any]) -> dict[str, Any]:
    model = _ExplainingReadModel(pool)
    await model._fetch(sql, params)
    return model.plan


async def explain_backoffice_queries(pool: aiopg.Pool) -> dict[str, list[str]]:
    """Case name -> the scans of its plan: the admin lists (first page and after a cursor), the
    failed webhooks and the review queue, the analytics statements, the fraud rules' counts."""
    model = _ExplainingAdmin(pool)
    report: dict[str, list[str]] = {}
    for name, (method, filters) in ADMIN_CASES.items():
        for suffix, cursor in (("", None), ("+cursor", _CURSOR)):
            await getattr(model, method)(filters, limit=10, cursor=cursor)
            report[name + suffix] = scans(model.plan)
    for name, call in (("admin/webhooks/failed", model.failed_webhooks), ("admin/reviews", model.held_payments)):
        await call(limit=10, cursor=_CURSOR)
        report[name] = scans(model.plan)
    for name, sql in ANALYTICS_SQL.items():
        params = [_T0, _T1, 10] if name == "products" else [_T0, _T1]
        report[f"analytics/{name}"] = scans(await _plan(pool, sql, params))
    signals = PostgresFraudSignals(pool)
    for kind in ("user", "email", "ip", "guest"):
        report[f"fraud/{kind}"] = scans(await _plan(pool, signals.count_sql([kind]), ["k", _T0]))
    return report


async def _main(dsn: str) -> int:
    resource = create_pool(dsn, maxsize=2)
    pool = await resource.__anext__()
    try:
        report = {**await explain_list_queries(pool), **await explain_backoffice_queries(pool)}
    finally:
        await resource.aclose()
    bad = 0
    for name, found in report.items():
        seq = any(s.startswith("Seq Scan") for s in found)
        bad += seq
        print(f"{'SEQ ' if seq else 'ok  '}{name:36} {'; '.join(found)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(sys.argv[1] if len(sys.argv) > 1 else "host=127.0.0.1 user=postgres")))
