"""The whole payment story on the embedded default, through HTTP only."""

from __future__ import annotations

from urllib.parse import urlsplit

from domain.payments import TransactionType
from tests.e2e.api import ledger

BACKENDS = ("memory", "postgres")


async def test_register_browse_checkout_pay_refund_notify(api, container):
    h = await api.user("Ada")
    me = await api.json("GET", "/api/v1/auth/me", h, expect=200)
    assert me["role"] == "customer" and me["name"] == "Ada"

    products = await api.json("GET", "/api/v1/products?limit=100", expect=200)
    currencies = {p["currency"] for p in products["results"]}
    assert {"NGN", "USD", "GHS", "KES"} <= currencies
    rice = next(p for p in products["results"] if p["sku"] == "NG-RICE-5KG")
    assert rice["price"] == 850_000 and rice["stock"] == 500

    order = await api.order(h, items=[("NG-RICE-5KG", 2)], coupon="WELCOME10", ship_to="NG")
    # 2 x 850_000 = 1_700_000; 10% off subtotal; NG standard shipping 150_000; 7.5% VAT on 1_530_000
    assert (order["subtotal"], order["discount"], order["shipping"], order["tax"]) == (1_700_000, 170_000, 150_000, 114_750)
    assert order["total"] == 1_700_000 - 170_000 + 150_000 + 114_750
    assert order["status"] == "pending" and order["currency"] == "NGN"
    stock = await api.json("GET", f"/api/v1/products/{rice['id']}", expect=200)
    assert stock["stock"] == 498  # taken at confirmation

    payment = await api.initiate(h, order["id"], "pay-1")
    assert payment["status"] == "requires_action" and payment["gateway"] == "sandbox"
    assert payment["amount"] == order["total"]
    assert urlsplit(payment["authorization_url"]).path == f"/sandbox/pay/{payment['reference']}"

    settled = await api.sandbox(payment, "approve")
    assert settled["status"] == "succeeded" and settled["captured_amount"] == order["total"]
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h, expect=200))["status"] == "paid"

    first = await api.refund(h, payment["id"], "refund-1", amount=500_000)
    assert first["status"] == "succeeded" and first["amount"] == 500_000
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "partially_refunded"
    rest = await api.refund(h, payment["id"], "refund-2")  # no amount: the whole remainder
    assert rest["amount"] == order["total"] - 500_000 and rest["status"] == "succeeded"
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "refunded"
    over = await api.refund(h, payment["id"], "refund-3", amount=1, expect=422)
    assert over["code"] == "refund_exceeds_captured"

    assert await api.kinds(h) == ["order_created", "payment_initiated", "payment_completed", "refund_requested",
                                  "refund_completed", "refund_requested", "refund_completed"]
    rows = await ledger(container, payment["id"])
    paid = sum(t.amount for t in rows if t.type is TransactionType.PAYMENT)
    refunded = sum(t.amount for t in rows if t.type is TransactionType.REFUND)
    assert paid == order["total"] == refunded and len(rows) == 3

    listed = await api.json("GET", "/api/v1/payment/refunds", h, expect=200)
    assert {r["id"] for r in listed["results"]} == {first["id"], rest["id"]}


async def test_decline_then_retry_with_a_new_key(api):
    h = await api.user()
    order = await api.order(h, items=[("US-HEADPHONES", 1)], ship_to=None)
    first = await api.initiate(h, order["id"], "attempt-1")
    declined = await api.sandbox(first, "decline")
    assert declined["status"] == "failed" and declined["last_error"]
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "pending"

    # the same key replays the first answer byte-for-byte; it never starts a second payment
    resp, body = await api.call("POST", "/api/v1/payment/payments/initiate", {**h, "Idempotency-Key": "attempt-1"},
                                json={"order_id": order["id"]}, expect=201)
    assert resp.headers["Idempotent-Replayed"] == "true" and (await resp.json())["id"] == first["id"]
    second = await api.initiate(h, order["id"], "attempt-2")
    assert second["id"] != first["id"] and second["status"] == "requires_action"
    assert (await api.sandbox(second, "approve"))["status"] == "succeeded"
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "paid"
    assert "payment_failed" in await api.kinds(h)

    # a late approval of the declined attempt cannot move it: its page is settled already
    resp, html = await api.call("GET", urlsplit(first["authorization_url"]).path, expect=200)
    assert b"declined" in html and b"Approve" not in html
    payments = await api.json("GET", f"/api/v1/payment/payments?order_id={order['id']}", h, expect=200)
    assert sorted(p["status"] for p in payments["results"]) == ["failed", "succeeded"]


async def test_guest_can_check_out_and_pay(api):
    g = await api.guest()
    order = await api.order(g, items=[("KE-TEA-500G", 3)], ship_to="KE")
    payment = await api.initiate(g, order["id"], "guest-key")
    assert (await api.sandbox(payment, "approve"))["status"] == "succeeded"
    me = await api.json("GET", "/api/v1/auth/me", g, expect=200)
    assert me["role"] == "guest"


async def test_direct_order_cancel_releases_stock(api):
    h = await api.user()
    before = (await api.json("GET", "/api/v1/products/prd_gh_kente_01"))["stock"]
    order = await api.json("POST", "/api/v1/payment/orders", h, json={"items": [{"sku": "GH-KENTE-01", "quantity": 4}]},
                           expect=201)
    assert order["total"] == 4 * 45_000 + (4 * 45_000 * 1500 + 5000) // 10_000  # GH VAT 15%
    assert (await api.json("GET", "/api/v1/products/prd_gh_kente_01"))["stock"] == before - 4
    cancelled = await api.json("POST", f"/api/v1/payment/orders/{order['id']}/cancel", h, expect=200)
    assert cancelled["status"] == "cancelled"
    assert (await api.json("GET", "/api/v1/products/prd_gh_kente_01"))["stock"] == before
    problem = await api.initiate(h, order["id"], "k", expect=409)
    assert problem["code"] == "payment_not_allowed"


async def test_cancel_is_refused_while_a_payment_is_in_progress(api):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    await api.initiate(h, order["id"], "k1")
    problem = await api.json("POST", f"/api/v1/payment/orders/{order['id']}/cancel", h, expect=409)
    assert problem["code"] == "conflict"
    second = await api.initiate(h, order["id"], "k2", expect=409)
    assert "payment_id" in second


async def test_confirming_a_checkout_twice_gives_the_same_order(api):
    h = await api.user()
    co = await api.json("POST", "/api/v1/checkout/initiate", h, json={"items": [{"sku": "NG-PHONE-01", "quantity": 1}]})
    await api.ship(h, co["checkout_id"])
    first = await api.json("POST", "/api/v1/checkout/confirm-order", h, json={"checkout_id": co["checkout_id"]}, expect=201)
    again = await api.json("POST", "/api/v1/checkout/confirm-order", h, json={"checkout_id": co["checkout_id"]}, expect=200)
    assert again["id"] == first["id"]
    orders = await api.json("GET", "/api/v1/payment/orders", h)
    assert [o["id"] for o in orders["results"]] == [first["id"]]
    await api.json("GET", f"/api/v1/checkout/{co['checkout_id']}", h, expect=404)  # deleted on confirmation


async def test_check_status_and_callback_agree_with_the_webhook(api):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k")
    status = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}/check-status", h, expect=200)
    assert status["status"] == "requires_action"
    await api.sandbox(payment, "approve")
    status = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}/check-status", h, expect=200)
    assert status["status"] == "succeeded"
    # the browser hitting the callback again changes nothing and charges nothing
    again = await api.json("GET", f"/api/v1/payment/payments/callback?reference={payment['reference']}", expect=200)
    assert again["status"] == "succeeded" and again["captured_amount"] == payment["amount"]


async def test_return_url_receives_the_outcome(api):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k", return_url="https://shop.example/thanks?o=1")
    page = urlsplit(payment["authorization_url"]).path
    resp, _ = await api.call("POST", page, data={"outcome": "approve"}, allow_redirects=False, expect=303)
    resp, _ = await api.call("GET", resp.headers["Location"], allow_redirects=False, expect=303)
    assert resp.headers["Location"] == f"https://shop.example/thanks?o=1&payment_id={payment['id']}&status=succeeded"
