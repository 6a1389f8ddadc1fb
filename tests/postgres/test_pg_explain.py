"""Postgres-only: every list query of the read model is served by an index (no Seq Scan)."""
from __future__ import annotations

from adapters.postgres.explain import CASES, explain_list_queries

MAIN_TABLE = {"list_orders": "orders", "list_payments": "payment_intents", "list_refunds": "refunds",
              "list_notifications": "notifications", "list_products": "products"}


async def test_every_list_query_uses_an_index(pg_pool):
    report = await explain_list_queries(pg_pool)
    assert len(report) == 2 * len(CASES)
    for name, scans in report.items():
        table = MAIN_TABLE[CASES[name.removesuffix("+cursor")][0]]
        on_table = [s for s in scans if s.endswith(f" on {table}") or f" on {table} " in s]
        assert on_table, (name, scans)
        assert not any(s.startswith("Seq Scan") for s in scans), (name, scans)


async def test_owner_lists_use_the_owner_index(pg_pool):
    report = await explain_list_queries(pg_pool)
    assert "orders_owner_list_idx" in report["orders/owner"][0]
    assert "payment_intents_owner_list_idx" in report["payments/owner+cursor"][0]
    assert "refunds_owner_list_idx" in report["refunds/owner"][0]
    assert "notifications_unread_idx" in report["notifications/unread+cursor"][0]
