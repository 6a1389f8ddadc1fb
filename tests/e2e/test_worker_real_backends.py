"""The worker's jobs, reconcile with broken data, and ``PAYPORT_EVENT_BUS=redis``, end to end on
Postgres + Redis (issue 13's "the suite must prove it on the real backends"). The worker tests of
``test_worker.py`` that break no memory-only state run here again, on the real backends; reconcile
is given data broken in the database itself, one finding at a time."""
from __future__ import annotations

import asyncio

import psycopg2
import pytest

from tests.e2e.test_worker import (  # noqa: F401  (the same tests, collected again here on Postgres + Redis)
    test_a_payment_made_at_the_last_second_is_recorded_not_expired,
    test_a_payment_the_worker_cannot_settle_does_not_stop_the_others,
    test_a_refund_that_timed_out_is_completed_by_the_worker,
    test_a_refund_the_worker_cannot_resume_does_not_stop_the_others,
    test_an_abandoned_payment_expires_and_the_order_can_be_paid_again,
    test_an_unpaid_order_gives_its_stock_back_after_its_window,
    test_failed_webhook_processing_is_visible_and_retried,
)

BACKENDS = ("postgres",)

#: each finding, and the SQL that breaks a paid order's rows so that reconcile must report it
BROKEN = {
    "success_webhook_not_applied": [
        "UPDATE orders SET status = 'pending', payment_id = NULL, paid_at = NULL WHERE id = %(order)s",
        "UPDATE payment_intents SET status = 'processing', captured_amount = 0 WHERE id = %(payment)s",
        "DELETE FROM transactions WHERE payment_id = %(payment)s"],
    "capture_not_applied": ["UPDATE orders SET payment_id = NULL WHERE id = %(order)s"],
    "ledger_mismatch": ["UPDATE payment_intents SET captured_amount = captured_amount + 1 WHERE id = %(payment)s"],
    "payment_held_for_review": [
        "UPDATE payment_intents SET status = 'requires_review', review_reason = 'test' WHERE id = %(payment)s"],
}


async def paid(api) -> tuple[dict, dict, dict]:
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], f"k-{order['id']}")
    assert (await api.sandbox(payment, "approve"))["status"] == "succeeded"
    return h, order, payment


@pytest.mark.parametrize("finding", sorted(BROKEN))
async def test_reconcile_reports_data_broken_in_the_database(api, settings, finding):
    _, order, payment = await paid(api)
    assert await api.services.maintenance.reconcile() == []
    with psycopg2.connect(settings["database_url"]) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE transactions DISABLE TRIGGER USER")  # the ledger refuses what we break
        try:
            for sql in BROKEN[finding]:
                cur.execute(sql, {"order": order["id"], "payment": payment["id"]})
        finally:
            cur.execute("ALTER TABLE transactions ENABLE TRIGGER USER")
    findings = await api.services.maintenance.reconcile()
    assert finding in {f.kind for f in findings}, findings
    assert {f.subject for f in findings if f.kind == finding} <= {payment["id"]}


async def test_reconcile_reports_a_refund_missing_from_the_ledger_and_a_webhook_for_no_payment(api, settings):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], f"k-{order['id']}")
    _, headers, body = await api.services.sandbox.settle(payment["reference"], approve=True)
    assert (await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=200))[
        "status"] == "processed"
    refund = await api.refund(h, payment["id"], "r1", amount=1000)
    assert refund["status"] == "succeeded"
    assert await api.services.maintenance.reconcile() == []
    with psycopg2.connect(settings["database_url"]) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE transactions DISABLE TRIGGER USER")
        try:
            cur.execute("DELETE FROM transactions WHERE refund_id = %s", (refund["id"],))
        finally:
            cur.execute("ALTER TABLE transactions ENABLE TRIGGER USER")
        cur.execute("UPDATE webhook_events SET reference = 'pp_nobody' WHERE reference = %s", (payment["reference"],))
    kinds = {(f.kind, f.subject) for f in await api.services.maintenance.reconcile()}
    assert ("refund_missing_from_ledger", refund["id"]) in kinds, kinds
    assert "webhook_unknown_payment" in {kind for kind, _ in kinds}, kinds


@pytest.mark.settings(event_bus="redis")
async def test_with_the_redis_event_bus_a_payment_reaches_its_customer(api, container):
    """``PAYPORT_EVENT_BUS=redis``: the events of a payment go through Redis streams to their
    handlers (the customer's notifications) end to end."""
    from adapters.redis.streams import RedisStreamsEventBus

    assert isinstance(await container.storage.bus(), RedisStreamsEventBus)
    h, order, payment = await paid(api)
    for _ in range(100):  # the stream's consumer runs beside the request; bounded wait, not a sleep
        kinds = await api.kinds(h)
        if any("payment" in k for k in kinds):
            break
        await asyncio.sleep(0.1)
    assert any("payment" in k for k in kinds), kinds
