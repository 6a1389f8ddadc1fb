"""Webhook signatures and dedup, caching with ETags, OpenAPI, health and metrics."""
from __future__ import annotations

import json
import time

from adapters.gateways.sandbox import SIGNATURE_HEADER, sign


async def _pending_payment(api):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    return h, await api.initiate(h, order["id"], "k")


def _event(payment: dict, status: str = "approved") -> bytes:
    return json.dumps({"id": f"evt_{payment['reference']}_{status}", "type": f"payment.{status}", "data": {
        "reference": payment["reference"], "id": "sbx_x", "amount": payment["amount"], "currency": payment["currency"],
        "status": status}}).encode()


async def test_forged_tampered_stale_and_unsigned_webhooks_change_nothing(api, container):
    h, payment = await _pending_payment(api)
    secret = container.config()["sandbox_secret"]
    body = _event(payment)
    now = int(time.time())
    attempts = [
        {},                                                          # unsigned
        {SIGNATURE_HEADER: sign("not-the-secret", body, now)},       # forged
        {SIGNATURE_HEADER: sign(secret, body, now - 3600)},          # stale
        {SIGNATURE_HEADER: sign(secret, body + b" ", now)},          # signed other bytes
        {SIGNATURE_HEADER: "t=abc,v1=00"},                           # malformed
    ]
    for headers in attempts:
        resp, _ = await api.call("POST", "/api/v1/payment/webhooks/sandbox",
                                 {**headers, "Content-Type": "application/json"}, data=body, expect=401)
        assert resp.content_type == "application/problem+json"
    reserialized = json.dumps(json.loads(body), indent=2).encode()
    await api.call("POST", "/api/v1/payment/webhooks/sandbox", {SIGNATURE_HEADER: sign(secret, body, now)},
                   data=reserialized, expect=401)
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "requires_action"
    assert container.storage.memory_store().tables["webhooks"] == {}
    await api.call("POST", "/api/v1/payment/webhooks/nosuchgateway", data=body, expect=404)


async def test_valid_webhook_settles_and_a_replay_is_a_duplicate(api, container):
    h, payment = await _pending_payment(api)
    sandbox = api.services.sandbox
    txn, headers, body = await sandbox.settle(payment["reference"], approve=True)
    first = await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=200)
    assert first["status"] == "processed"
    again = await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=200)
    assert again["status"] == "duplicate"
    paid = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h)
    assert paid["status"] == "succeeded"
    # a signed, late "declined" for the same payment cannot move a terminal payment backwards
    late = _event(payment, "declined")
    ts = int(time.time())
    await api.json("POST", "/api/v1/payment/webhooks/sandbox", {SIGNATURE_HEADER: sign(container.config()["sandbox_secret"], late, ts)},
                   data=late, expect=200)
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "succeeded"
    assert len([t for t in container.storage.memory_store().ledger if t.payment_id == payment["id"]]) == 1


async def test_cached_reads_have_etags_and_are_invalidated_by_writes(api, container):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    path = f"/api/v1/payment/orders/{order['id']}"
    first, _ = await api.call("GET", path, h, expect=200)
    etag = first.headers["ETag"]
    commits = container.storage.memory_store().commits
    not_modified, body = await api.call("GET", path, {**h, "If-None-Match": etag}, expect=304)
    assert body == b"" and not_modified.headers["ETag"] == etag
    assert container.storage.memory_store().commits == commits
    await api.json("POST", f"{path}/cancel", h, expect=200)
    changed, _ = await api.call("GET", path, {**h, "If-None-Match": etag}, expect=200)
    assert changed.headers["ETag"] != etag and (await changed.json())["status"] == "cancelled"
    listed = await api.json("GET", "/api/v1/payment/orders", h)
    assert listed["results"][0]["status"] == "cancelled"
    metrics = (await api.call("GET", "/metrics", expect=200))[1].decode()
    assert 'payport_cache_requests_total{namespace="order",result="hit"}' in metrics


async def test_checkout_responses_are_never_cached(api):
    h = await api.user()
    resp, _ = await api.call("POST", "/api/v1/checkout/initiate", h, json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]},
                             expect=201)
    assert resp.headers["Cache-Control"] == "no-store" and "ETag" not in resp.headers


async def test_openapi_describes_every_route_and_docs_render(api, aiohttp_client):
    spec = await api.json("GET", "/openapi.json", expect=200)
    app = api.client.server.app
    declared = {(r.method, r.resource.canonical) for r in app.router.routes() if r.method not in ("HEAD", "*")}
    described = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert declared == described
    initiate = spec["paths"]["/api/v1/payment/payments/initiate"]["post"]
    body_ref = initiate["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert set(spec["components"]["schemas"][body_ref]["properties"]) >= {"order_id", "gateway", "return_url"}
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in initiate["parameters"])
    assert "201" in initiate["responses"] and "4XX" in initiate["responses"]
    resp, html = await api.call("GET", "/docs", expect=200)
    assert resp.content_type == "text/html" and b"/openapi.json" in html


async def test_health_and_metrics(api):
    assert (await api.json("GET", "/health/live", expect=200))["status"] == "ok"
    ready = await api.json("GET", "/health/ready", expect=200)
    assert ready["checks"] and all(v == "ok" for v in ready["checks"].values())
    await api.call("GET", "/api/v1/products", expect=200)
    resp, text = await api.call("GET", "/metrics", expect=200)
    assert b"payport_http_requests_total" in text
