"""Postgres-only: the back office's queries are served by indexes (no Seq Scan on any table)."""
from __future__ import annotations

from adapters.postgres.explain import ADMIN_CASES, explain_backoffice_queries


async def test_every_back_office_query_uses_an_index(pg_pool):
    report = await explain_backoffice_queries(pg_pool)
    assert len(report) == 2 * len(ADMIN_CASES) + 2 + 5 + 4
    for name, found in report.items():
        assert found and not any(s.startswith("Seq Scan") for s in found), (name, found)


async def test_the_filters_use_their_own_indexes(pg_pool):
    report = await explain_backoffice_queries(pg_pool)
    assert any("orders_customer_email_idx" in s for s in report["admin/orders/email"])
    assert any("orders_currency_list_idx" in s for s in report["admin/orders/currency+cursor"])
    assert any("payment_intents_gateway_list_idx" in s for s in report["admin/payments/gateway"])
    assert any("refunds_status_list_idx" in s for s in report["admin/refunds/status"])
    assert any("webhook_events_failed_list_idx" in s for s in report["admin/webhooks/failed"])
    assert any("payment_intents_review_idx" in s for s in report["admin/reviews"])
    assert any("fraud_attempts_ip_idx" in s for s in report["fraud/ip"])
    assert any("fraud_attempts_email_idx" in s for s in report["fraud/email"])
