"""An order's life after payment, over HTTP: fulfil and complete (events, notifications, history),
status moves through legal transitions only, and cancelling a paid order, which refunds what was
captured and restocks, in one operation that a crash cannot make refund twice."""
from __future__ import annotations

from datetime import timedelta

import pytest

from application.cancellation import SYSTEM, refund_key
from application.errors import DependencyUnavailable
from domain import events

BACKENDS = ("memory", "postgres")
A = "/api/v1/admin"
O = "/api/v1/payment/orders"


@pytest.fixture
def published(container) -> list:
    """Every event the app publishes (the bus is the configured one: in-process here)."""
    seen: list = []

    async def record(event) -> None:
        seen.append(event)
    container.storage.bus().subscribe(events.DomainEvent, record)
    return seen


async def paid_order(api, h=None, items=(("NG-RICE-5KG", 2),)):
    h = h or await api.user()
    order = await api.order(h, items=items, ship_to=None)
    payment = await api.initiate(h, order["id"], f"pay-{order['id']}")
    assert (await api.sandbox(payment, "approve"))["status"] == "succeeded"
    return h, order, payment


async def stock(api, sku: str) -> int:
    page = await api.json("GET", f"/api/v1/products?search={sku}", expect=200)
    return next(p["stock"] for p in page["results"] if p["sku"] == sku)


def moves(order: dict) -> list[tuple]:
    return [(h["from"], h["to"], h["by"] if h["by"] == "system" else h["by"][:4], h["note"])
            for h in order["status_history"]]


async def test_an_admin_takes_a_paid_order_to_completed(clock, api, admin, published):
    h, order, payment = await paid_order(api)
    clock.advance(60)
    fulfilled = await api.json("POST", f"{A}/orders/{order['id']}/fulfil", admin, expect=200,
                               json={"carrier": "GIG Logistics", "tracking_number": "GIG-77", "note": "boxed"})
    assert fulfilled["status"] == "processing"
    assert fulfilled["fulfilment"] == {"carrier": "GIG Logistics", "tracking_number": "GIG-77"}
    clock.advance(3600)
    done = await api.json("POST", f"{A}/orders/{order['id']}/complete", admin, json={"note": "delivered"}, expect=200)
    assert done["status"] == "completed" and done["completed_at"] is not None
    seen = await api.json("GET", f"{O}/{order['id']}", h, expect=200)  # what the customer sees
    assert moves(seen) == [(None, "pending", "usr_", "placed"),
                           ("pending", "paid", "system", f"paid by payment {payment['id']}"),
                           ("paid", "processing", "usr_", "boxed"), ("processing", "completed", "usr_", "delivered")]
    assert seen["status_history"][2]["by"] == fulfilled["status_history"][2]["by"] != seen["status_history"][0]["by"]
    assert seen["paid_at"] is not None and seen["completed_at"] == done["completed_at"]
    kinds = await api.kinds(h)
    assert kinds[-2:] == ["order_processing", "order_completed"]
    public = [e.public()["type"] for e in published if e.public()]
    assert public[-2:] == ["order.processing", "order.completed"]
    processing = next(e for e in published if isinstance(e, events.OrderProcessing))
    assert (processing.carrier, processing.tracking_number, processing.order_id) == ("GIG Logistics", "GIG-77",
                                                                                      order["id"])


async def test_status_moves_only_through_the_legal_transitions(api, admin):
    h = await api.user()
    pending = await api.order(h, ship_to=None)
    refused = await api.json("POST", f"{A}/orders/{pending['id']}/fulfil", admin, json={}, expect=409)
    assert refused["code"] == "illegal_transition" and refused["current"] == "pending"
    _, order, _ = await paid_order(api, h)
    money = await api.json("POST", f"{A}/orders/{order['id']}/status", admin, json={"status": "refunded"}, expect=409)
    assert money["code"] == "conflict" and "with its money" in money["detail"]
    illegal = await api.json("POST", f"{A}/orders/{order['id']}/status", admin, json={"status": "pending"},
                             expect=409)
    assert illegal["code"] == "illegal_transition"
    await api.json("POST", f"{A}/orders/{order['id']}/complete", admin, json={}, expect=409)  # not yet processing
    moved = await api.json("POST", f"{A}/orders/{order['id']}/status", admin, expect=200,
                           json={"status": "processing", "tracking_number": "T-1"})
    assert (moved["status"], moved["fulfilment"]["tracking_number"]) == ("processing", "T-1")
    bad = await api.json("POST", f"{A}/orders/{order['id']}/status", admin, json={"status": "shipped"}, expect=422)
    assert bad["errors"][0]["field"] == "status"
    after = await api.json("GET", f"{O}/{order['id']}", h, expect=200)
    assert [m["to"] for m in after["status_history"]] == ["pending", "paid", "processing"]  # refusals left no trace


async def test_only_admins_move_orders(api, admin):
    h, order, _ = await paid_order(api)
    for path in ("fulfil", "complete", "status", "cancel"):
        body = {"status": "processing"} if path == "status" else {}
        assert (await api.json("POST", f"{A}/orders/{order['id']}/{path}", h, json=body, expect=403))["code"] == \
            "forbidden"
        await api.json("POST", f"{A}/orders/{order['id']}/{path}", json=body, expect=401)
        await api.json("POST", f"{A}/orders/{order['id']}/{path}", await api.guest(), json=body, expect=401)
    await api.json("POST", f"{A}/orders/ord_nope/fulfil", admin, json={}, expect=404)
    assert (await api.json("GET", f"{O}/{order['id']}", h))["status"] == "paid"


async def test_the_customer_cancels_a_paid_order_refunded_and_restocked(clock, api, published):
    before = await stock(api, "NG-RICE-5KG")
    h, order, payment = await paid_order(api)
    assert await stock(api, "NG-RICE-5KG") == before - 2
    cancelled = await api.json("POST", f"{O}/{order['id']}/cancel", h, expect=200)
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancellation"]["refund_pending"] is False and cancelled["cancellation"]["refund_id"]
    assert cancelled["cancellation"]["reason"] == "cancelled by the customer"
    refund = await api.json("GET", f"/api/v1/payment/refunds/{cancelled['cancellation']['refund_id']}", h, expect=200)
    assert (refund["amount"], refund["reason"], refund["status"]) == (payment["amount"], "order_cancelled", "succeeded")
    assert await stock(api, "NG-RICE-5KG") == before
    after = await api.json("GET", f"{O}/{order['id']}", h, expect=200)
    assert after["status"] == "cancelled"  # the refund's success leaves the cancelled order cancelled
    assert [m["to"] for m in after["status_history"]] == ["pending", "paid", "cancelled"]
    assert "refund_completed" in await api.kinds(h)
    assert any(isinstance(e, events.OrderCancelled) and e.order_id == order["id"] for e in published)
    again = await api.json("POST", f"{O}/{order['id']}/cancel", h, expect=409)  # cancelled is final
    assert again["code"] == "illegal_transition"
    refunds = await api.json("GET", f"/api/v1/payment/refunds?payment_id={payment['id']}", h, expect=200)
    assert len(refunds["results"]) == 1


async def test_past_the_window_only_an_admin_cancels(clock, api, admin):
    h, order, payment = await paid_order(api)
    await api.json("POST", f"{A}/orders/{order['id']}/fulfil", admin, json={}, expect=200)
    clock.advance(25 * 3600)  # the policy window is 24 hours after payment
    late = await api.json("POST", f"{O}/{order['id']}/cancel", h, expect=409)
    assert late["code"] == "cancellation_not_allowed"
    assert (await api.json("GET", f"{O}/{order['id']}", h))["status"] == "processing"
    cancelled = await api.json("POST", f"{A}/orders/{order['id']}/cancel", admin, json={"reason": "out of stock"},
                               expect=200)
    assert (cancelled["status"], cancelled["cancellation"]["reason"]) == ("cancelled", "out of stock")
    assert cancelled["cancellation"]["by"] == cancelled["status_history"][-1]["by"] != "system"
    stranger = await api.user()
    await api.json("POST", f"{O}/{order['id']}/cancel", stranger, expect=404)


async def test_a_cancellation_stopped_halfway_is_finished_once_by_the_worker(clock, api, admin, monkeypatch):
    before = await stock(api, "NG-RICE-5KG")
    h, order, payment = await paid_order(api)
    refunds = api.services.refunds
    real_request = refunds.request

    async def down(*args, **kwargs):
        raise DependencyUnavailable("database unavailable", dependency="postgres")
    monkeypatch.setattr(refunds, "request", down)  # it stops after the cancellation is recorded
    await api.json("POST", f"{A}/orders/{order['id']}/cancel", admin, json={}, expect=503)
    halfway = await api.json("GET", f"{O}/{order['id']}", h, expect=200)
    assert halfway["status"] == "cancelled" and halfway["cancellation"]["refund_pending"] is True
    assert await stock(api, "NG-RICE-5KG") == before  # restocked with the cancellation, once
    monkeypatch.setattr(refunds, "request", real_request)
    jobs = api.services.order_cancellation
    assert await jobs.finish_due() == 0  # not due yet: a request in flight finishes its own
    clock.advance(180)
    assert await jobs.finish_due() == 1
    assert await jobs.finish_due() == 0
    clock.advance(3600)
    assert await jobs.finish_due() == 0
    done = await api.json("GET", f"{O}/{order['id']}", h, expect=200)
    assert done["cancellation"]["refund_pending"] is False
    listed = await api.json("GET", f"/api/v1/payment/refunds?payment_id={payment['id']}", admin, expect=200)
    assert [(r["id"], r["amount"], r["status"]) for r in listed["results"]] == [
        (done["cancellation"]["refund_id"], payment["amount"], "succeeded")]
    assert await stock(api, "NG-RICE-5KG") == before


async def test_a_retried_cancellation_after_the_refund_went_out_refunds_nothing_more(clock, api, admin, monkeypatch):
    h, order, payment = await paid_order(api)
    cancellation = api.services.order_cancellation
    real_finish = cancellation.finish

    async def refund_then_crash(order_id):  # the refund goes out, then the process dies before the order records it
        await cancellation.refunds.request(SYSTEM, payment_id=payment["id"], amount=None, reason="order_cancelled",
                                           description="x", idempotency_key=refund_key(order_id))
        raise DependencyUnavailable("database unavailable", dependency="postgres")
    monkeypatch.setattr(cancellation, "finish", refund_then_crash)
    await api.json("POST", f"{O}/{order['id']}/cancel", h, expect=503)
    monkeypatch.setattr(cancellation, "finish", real_finish)
    retried = await api.json("POST", f"{O}/{order['id']}/cancel", h, expect=200)  # the customer tries again
    assert retried["cancellation"]["refund_pending"] is False
    listed = await api.json("GET", f"/api/v1/payment/refunds?payment_id={payment['id']}", h, expect=200)
    assert len(listed["results"]) == 1 and listed["results"][0]["id"] == retried["cancellation"]["refund_id"]
    clock.advance(timedelta(hours=1).total_seconds())
    assert await cancellation.finish_due() == 0


async def test_a_pending_order_is_cancelled_as_before(api):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    cancelled = await api.json("POST", f"{O}/{order['id']}/cancel", h, expect=200)
    assert cancelled["status"] == "cancelled" and cancelled["cancellation"]["refund_pending"] is False
    assert cancelled["cancellation"]["refund_id"] is None
    assert cancelled["status_history"][-1]["note"] == "cancelled by customer"
