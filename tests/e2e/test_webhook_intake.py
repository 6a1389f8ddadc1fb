"""Webhook intake on Postgres + Redis: signature -> Redis claim -> Postgres inbox -> settlement.

A delivery whose event another delivery has claimed but not yet stored is never acknowledged: the
gateway is told to retry, since that first delivery may still fail or its process may die.
"""
from __future__ import annotations

BACKENDS = ("postgres",)


async def _settled_event(api):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k")
    _, headers, body = await api.services.sandbox.settle(payment["reference"], approve=True)
    return h, payment, headers, body


async def test_an_event_claimed_but_not_stored_is_not_acknowledged(api, backend):
    h, payment, headers, body = await _settled_event(api)
    dedup = api.services.webhooks.dedup
    event_id = f"evt_{(await api.services.sandbox.transaction(payment['reference']))['id']}_approved"
    assert await dedup.claim("sandbox", event_id) == "new"  # another process claimed it, then died

    resp, _ = await api.call("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=409)
    assert resp.content_type == "application/problem+json"
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "requires_action"

    await dedup.forget("sandbox", event_id)  # what the claim's lapse does (claim_ttl)
    first = await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=200)
    assert first["status"] == "processed"
    again = await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=200)
    assert again["status"] == "duplicate"
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "succeeded"


async def test_a_delivery_whose_inbox_write_fails_lets_the_retry_through(api, backend, monkeypatch):
    h, payment, headers, body = await _settled_event(api)
    webhooks = api.services.webhooks
    real_uow = webhooks.uow

    def broken_uow():
        uow = real_uow()

        async def refuse(entry):
            raise ConnectionError("the database went away mid-insert")
        uow.webhooks.add = refuse
        return uow
    monkeypatch.setattr(webhooks, "uow", broken_uow)
    resp, _ = await api.call("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body)
    assert resp.status >= 500
    monkeypatch.setattr(webhooks, "uow", real_uow)

    retried = await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=200)
    assert retried["status"] == "processed"
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "succeeded"
