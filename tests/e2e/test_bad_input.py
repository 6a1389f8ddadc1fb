"""Bad input gets a clear 4xx problem+json and changes nothing."""
from __future__ import annotations

import pytest


def state(container) -> tuple:
    store = container.storage.memory_store()
    stock = {p.sku: p.stock for p in store.tables["products"].values()}
    return store.commits, len(store.tables["orders"]), len(store.tables["payments"]), stock


@pytest.mark.parametrize("items, code", [
    ([{"sku": "NG-RICE-5KG", "quantity": -1}], "validation_error"),
    ([{"sku": "NG-RICE-5KG", "quantity": 0}], "validation_error"),
    ([{"sku": "NG-RICE-5KG", "quantity": 1.5}], "validation_error"),
    ([{"sku": "NG-RICE-5KG", "quantity": "2"}], "validation_error"),
    ([{"sku": "NG-RICE-5KG", "quantity": 10**30}], "validation_error"),
    ([{"sku": "NG-RICE-5KG", "quantity": 1000}], "insufficient_stock"),
    ([{"sku": "NO-SUCH-SKU", "quantity": 1}], "invalid_value"),
    ([{"sku": "NG-RICE-5KG", "quantity": 1, "price": 1}], "validation_error"),
    ([{"sku": "NG-RICE-5KG", "quantity": 1}, {"sku": "US-HEADPHONES", "quantity": 1}], "currency_mismatch"),
    ([], "validation_error"),
])
@pytest.mark.parametrize("path", ["/api/v1/payment/orders", "/api/v1/checkout/initiate"])
async def test_bad_items_are_refused_and_change_nothing(api, container, items, code, path):
    h = await api.user()
    before = state(container)
    resp, _ = await api.call("POST", path, h, json={"items": items})
    problem = await resp.json(content_type=None)
    assert 400 <= resp.status < 500 and resp.content_type == "application/problem+json"
    assert problem["code"] == code and problem["detail"] and problem["title"]
    if code == "validation_error":
        assert resp.status == 422 and problem["errors"] and all({"field", "message"} <= set(e) for e in problem["errors"])
    assert state(container) == before


async def test_unknown_fields_malformed_json_and_oversized_bodies(api, container):
    h = await api.user()
    before = state(container)
    unknown = await api.json("POST", "/api/v1/payment/orders", h, expect=422,
                             json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}], "total": 1})
    assert unknown["errors"][0]["field"] == "total"
    resp, _ = await api.call("POST", "/api/v1/payment/orders", {**h, "Content-Type": "application/json"},
                             data=b'{"items": [', expect=400)
    assert (await resp.json(content_type=None))["code"] == "malformed_json"
    resp, _ = await api.call("POST", "/api/v1/payment/orders", {**h, "Content-Type": "application/json"},
                             data=b'{"items": "' + b"x" * (1024 * 1024 + 10) + b'"}', expect=413)
    assert resp.content_type == "application/problem+json"
    await api.call("POST", "/api/v1/payment/orders", h, json=[1, 2], expect=422)
    await api.call("POST", "/api/v1/payment/orders", h, data=b"", expect=422)
    assert state(container) == before


async def test_bad_query_strings_and_unknown_routes(api):
    h = await api.user()
    await api.call("GET", "/api/v1/payment/orders?limit=5", h)  # the caller's list group is cached now
    for query in ("limit=0", "limit=101", "limit=abc", "cursor=garbage!!", "status=nonsense") * 2:  # a refusal is never stored
        resp, _ = await api.call("GET", f"/api/v1/payment/orders?{query}", h, expect=422)
        assert resp.content_type == "application/problem+json"
    resp, _ = await api.call("GET", "/api/v1/nope", expect=404)
    assert resp.content_type == "application/problem+json"
    resp, _ = await api.call("DELETE", "/api/v1/products", expect=405)
    assert resp.content_type == "application/problem+json" and resp.headers["Allow"] == "GET,POST"
    resp, _ = await api.call("GET", "/", expect=404)
    assert resp.content_type == "application/problem+json"
    await api.call("GET", "/api/v1/products/does-not-exist", expect=404)
    await api.call("GET", "/api/v1/payment/payments/callback", expect=422)
    await api.call("GET", "/api/v1/payment/payments/callback?reference=unknown", expect=404)
    await api.call("GET", "/sandbox/pay/unknown", expect=404)


async def test_bad_payment_and_refund_requests(api):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    assert (await api.initiate(h, order["id"], "k", gateway="paypal", expect=422))["errors"][0]["field"] == "gateway"
    await api.initiate(h, order["id"], "k2", return_url="javascript:alert(1)", expect=422)
    missing = await api.json("POST", "/api/v1/payment/payments/initiate", h, json={"order_id": order["id"]}, expect=400)
    assert missing["code"] == "idempotency_key_required"
    payment = await api.initiate(h, order["id"], "k3")
    not_yet = await api.refund(h, payment["id"], "r0", amount=100, expect=409)
    assert not_yet["code"] == "refund_not_allowed"
    await api.sandbox(payment, "approve")
    for amount in (0, -5):
        await api.refund(h, payment["id"], f"r-{amount}", amount=amount, expect=422)
    too_much = await api.refund(h, payment["id"], "r-big", amount=payment["amount"] + 1, expect=422)
    assert too_much["code"] == "refund_exceeds_captured" and too_much["refundable"] == payment["amount"]
    await api.json("POST", "/api/v1/payment/refunds", {**h, "Idempotency-Key": "x"}, expect=422,
                   json={"payment_id": payment["id"], "reason": "because"})


async def test_sandbox_page_needs_a_valid_outcome(api):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k")
    resp, _ = await api.call("POST", f"/sandbox/pay/{payment['reference']}", data={"outcome": "maybe"}, expect=422)
    assert resp.content_type == "application/problem+json"
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "requires_action"


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=", "application/x-www-form-urlencoded; charset=nope"])
async def test_a_malformed_form_on_the_sandbox_page_is_a_client_error(api, content_type):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k")
    for reference in (payment["reference"], "0"):  # known or not, the body is refused first
        resp, _ = await api.call("POST", f"/sandbox/pay/{reference}", headers={"Content-Type": content_type},
                                 data=b"outcome=approve")
        assert 400 <= resp.status < 500 and resp.content_type == "application/problem+json", resp.status
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "requires_action"


async def test_a_malformed_form_on_the_gateway_callback_is_a_client_error(api):
    resp, _ = await api.call("POST", "/api/v1/payment/payments/callback?reference=x",
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=nope"},
                             data=b"reference=x")
    assert resp.status == 400 and resp.content_type == "application/problem+json", resp.status
