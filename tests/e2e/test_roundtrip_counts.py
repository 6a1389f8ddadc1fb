"""Issue 20: what one request costs in round trips, on Postgres + Redis, counted at the drivers
(tests/roundtrips.py). These are exact and deterministic: a change that adds a statement, a
transaction or a Redis round trip to one of these paths fails here, with the statements it sent.

What is pinned (bench/RESULTS.md shows the same counts per request under load):

- an order's detail on a miss: one primary-key select, sent on its own (no BEGIN/COMMIT); on
  Redis the lookup and the fill, nothing else (the fill's generation check travels with the
  lookup); with the order TTL at 0 (nothing cached): the select and no Redis at all;
- a cached detail: no statement, no Redis round trip (the in-process tier answers);
- a refund, a customer's or an admin's: 3 Postgres transactions (the key's answer commits with the
  settlement);
- checkout initiate, payment initiate and a webhook's ingestion: the counts recorded below.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from tests import roundtrips
from tests.e2e.api import Api

BACKENDS = ("postgres",)
SECRET = "whsec_counts_" + "x" * 20


async def counted(api: Api, method: str, path: str, headers: dict | None = None, expect: int = 200, **kw):
    """The answer of one request, and what it cost."""
    with roundtrips.counting() as seen:
        resp, body = await api.client.request(method, path, headers=headers or {}, **kw), None
        body = await resp.read()
    assert resp.status == expect, f"{method} {path}: {resp.status} {body[:300]!r}"
    return (json.loads(body) if body else None), seen


def explain(seen: roundtrips.Seen) -> str:
    sql = "\n  ".join(seen.sql)
    return f"{seen.counts()}\nSQL:\n  {sql}\nRedis: {seen.commands}"


async def paid(api: Api, h: dict) -> dict:
    order = await api.order(h)
    payment = await api.initiate(h, order["id"], "pay-" + order["id"])
    settled = await api.sandbox(payment, "approve")
    assert settled["status"] == "succeeded"
    return settled


async def test_an_uncached_order_detail_is_one_primary_key_select(api, backend):
    h = await api.user()
    order = await api.order(h)
    body, seen = await counted(api, "GET", f"/api/v1/payment/orders/{order['id']}", h)
    assert body["id"] == order["id"]
    assert seen.counts() == {"statements": 1, "transactions": 1, "redis": 2}, explain(seen)  # lookup, fill
    assert not any("BEGIN" in sql or "COMMIT" in sql for sql in seen.sql), explain(seen)  # the lookup (with the generation) and the fill
    body, seen = await counted(api, "GET", f"/api/v1/payment/orders/{order['id']}", h)
    assert body["id"] == order["id"]
    assert seen.counts() == {"statements": 0, "transactions": 0, "redis": 0}, explain(seen)


@pytest.mark.settings(ttls={"order": 0})
async def test_with_the_order_ttl_at_zero_a_detail_costs_the_select_and_nothing_in_redis(api, backend):
    h = await api.user()
    order = await api.order(h)
    for _ in range(2):
        body, seen = await counted(api, "GET", f"/api/v1/payment/orders/{order['id']}", h)
        assert body["id"] == order["id"]
        assert seen.counts() == {"statements": 1, "transactions": 1, "redis": 0}, explain(seen)


async def test_a_refund_takes_three_transactions(api, backend):
    h = await api.user()
    payment = await paid(api, h)
    request = {"payment_id": payment["id"], "amount": 100, "reason": "requested_by_customer"}
    with roundtrips.counting() as seen:
        resp = await api.client.post("/api/v1/payment/refunds", headers={**h, "Idempotency-Key": "r1"}, json=request)
        first = await resp.read()
    assert resp.status == 201, first
    body = json.loads(first)
    assert body["status"] == "succeeded" and body["amount"] == 100
    # the key's claim, the reservation, the settlement with the key's answer (its UPDATE sent with the
    # settlement's COMMIT; was 4: the answer in a transaction of its own, and 7 before that). 11
    # statements: the reservation reads the refund's id only when its checks refuse (was 12)
    assert seen.counts() == {"statements": 11, "transactions": 3, "redis": 5}, explain(seen)
    assert not any(sql.startswith("UPDATE idempotency_keys") for sql in seen.sql), explain(seen)
    # the answer stored by the settlement is the one sent, byte for byte
    resp = await api.client.post("/api/v1/payment/refunds", headers={**h, "Idempotency-Key": "r1"}, json=request)
    assert resp.status == 201 and resp.headers["Idempotent-Replayed"] == "true"
    assert await resp.read() == first
    refunds = await api.json("GET", f"/api/v1/payment/refunds?payment_id={payment['id']}", h, expect=200)
    assert [r["id"] for r in refunds["results"]] == [body["id"]]


async def test_an_admins_refund_takes_three_transactions_too(api, backend, admin):
    payment = await paid(api, await api.user())
    path = f"/api/v1/admin/payments/{payment['id']}/refund"
    request = {"amount": 100, "reason": "requested_by_customer"}
    await api.json("GET", f"/api/v1/admin/payments/{payment['id']}", admin, expect=200)  # the token verified, as under load
    with roundtrips.counting() as seen:
        resp = await api.client.post(path, headers={**admin, "Idempotency-Key": "a1"}, json=request)
        first = await resp.read()
    assert resp.status == 201, first
    assert json.loads(first)["status"] == "succeeded"
    # the same three as a customer's (it was 4: the key's answer stored in a transaction of its own)
    assert seen.counts()["transactions"] == 3, explain(seen)
    assert not any(sql.startswith("UPDATE idempotency_keys") for sql in seen.sql), explain(seen)
    resp = await api.client.post(path, headers={**admin, "Idempotency-Key": "a1"}, json=request)
    assert resp.status == 201 and resp.headers["Idempotent-Replayed"] == "true" and await resp.read() == first


async def test_checkout_initiate_counts(api, backend):
    h = await api.user()
    await api.json("POST", "/api/v1/checkout/initiate", h, json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]},
                   expect=201)  # the catalog's entries are warm, as under load
    body, seen = await counted(api, "POST", "/api/v1/checkout/initiate", h, expect=201,
                               json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]})
    assert body["checkout_id"]
    # no catalog read: the products' quotes come from the cache (the in-process tier: no round trip);
    # Redis: the two rate limits (caller, IP) in one pipeline (were two round trips), the session's write
    assert seen.counts() == {"statements": 0, "transactions": 0, "redis": 2}, explain(seen)


async def test_payment_initiate_counts(api, backend):
    h = await api.user()
    await api.initiate(h, (await api.order(h))["id"], "p0")  # steady state: the fraud record's connection is open
    order = await api.order(h)
    body, seen = await counted(api, "POST", "/api/v1/payment/payments/initiate", {**h, "Idempotency-Key": "p1"},
                               expect=201, json={"order_id": order["id"]})
    assert body["status"] == "requires_action"
    # recorded (issue 20): the key's claim; the fraud record (its own connection: the side pool); the
    # intent's transaction (the order locked, the key's intent and the order's active one in one
    # select, the insert, COMMIT); the gateway's answer applied with the key's answer (its UPDATE sent
    # with the COMMIT: was a transaction of its own). 11 / 5 on fab35bb, 14 / 8 once checks were made
    # before the risk rules too (reverted: the side pool already keeps the pool from deadlocking).
    # Redis: the two rate limits (one pipeline), the sandbox's state (read, write), the invalidation
    assert seen.counts() == {"statements": 8, "transactions": 4, "redis": 4}, explain(seen)
    assert not any(sql.startswith("UPDATE idempotency_keys") for sql in seen.sql), explain(seen)
    again = await api.client.post("/api/v1/payment/payments/initiate", headers={**h, "Idempotency-Key": "p1"},
                                  json={"order_id": order["id"]})
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert json.loads(await again.read()) == body


def signed(reference: str, amount: int, currency: str) -> tuple[dict, bytes]:
    txn = "sbx_" + hashlib.sha256(reference.encode()).hexdigest()[:20]
    body = json.dumps({"id": f"evt_{txn}_approved", "type": "payment.approved",
                       "data": {"reference": reference, "id": txn, "amount": amount, "currency": currency,
                                "status": "approved"}}, separators=(",", ":")).encode()
    t = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Payport-Sandbox-Signature": f"t={t},v1={mac}"}, body


@pytest.mark.settings(sandbox_secret=SECRET)
async def test_webhook_ingestion_counts(api, backend):
    h = await api.user()
    order = await api.order(h)
    payment = await api.initiate(h, order["id"], "w1")
    headers, body = signed(payment["reference"], payment["amount"], payment["currency"])
    _, seen = await counted(api, "POST", "/api/v1/payment/webhooks/sandbox", headers, data=body)
    got = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h, expect=200)
    assert got["status"] == "succeeded"
    # recorded (issue 20): the inbox write, then the settlement (was 3: the payment was read before its
    # lock); Redis: the per-IP limit, the dedup claim, its release to done, the invalidation
    assert seen.counts() == {"statements": 6, "transactions": 2, "redis": 4}, explain(seen)


@pytest.mark.settings(pg_pool_max=2, rate_limits={"checkout_confirm": (100, 60), "checkout_initiate": (100, 60),
                                                  "checkout_pricing": (100, 60), "payment_initiate": (100, 60)})
async def test_more_payment_initiations_at_once_than_pool_connections_all_go_through(api, backend):
    """Each initiation holds a pooled connection (its transaction) while the fraud rules record the
    attempt on a connection of its own: from the same pool, with every connection held so, each
    waited for another until the pool's timeout and answered 503 (bench/seed.py at 16 at once)."""
    import asyncio

    h = await api.user()
    orders = [await api.order(h) for _ in range(6)]
    started = time.monotonic()
    answers = await asyncio.gather(*(api.call("POST", "/api/v1/payment/payments/initiate",
                                              {**h, "Idempotency-Key": f"many-{o['id']}"}, json={"order_id": o["id"]})
                                     for o in orders))
    assert [resp.status for resp, _ in answers] == [201] * 6, [body[:200] for _, body in answers]
    assert time.monotonic() - started < 20  # well inside the pool's 30 s timeout: nobody waited on it
