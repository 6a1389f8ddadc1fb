"""Idempotency-Key semantics and the race of 50 identical initiations."""

from __future__ import annotations

import asyncio
import json

import pytest

import container as composition
from entrypoints.http.app import create_app
from tests.e2e.api import Api, count_gateway_starts, count_sandbox_payouts, forget_idempotency_records
from tests.e2e.conftest import FAST

BACKENDS = ("memory", "postgres")


async def test_replay_is_byte_for_byte_and_a_different_body_is_refused(api):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    path, headers = "/api/v1/payment/payments/initiate", {**h, "Idempotency-Key": "same"}
    first, body1 = await api.call("POST", path, headers, json={"order_id": order["id"]}, expect=201)
    second, body2 = await api.call("POST", path, headers, json={"order_id": order["id"]}, expect=201)
    assert body1 == body2 and second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    other = await api.json("POST", path, headers, json={"order_id": order["id"], "gateway": "sandbox"}, expect=422)
    assert other["code"] == "idempotency_key_reused"
    # keys are scoped per caller: another user's identical key is a different key
    bob = await api.user()
    await api.json("POST", path, {**bob, "Idempotency-Key": "same"}, json={"order_id": order["id"]}, expect=404)


async def test_failed_validation_does_not_consume_the_key(api):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    headers = {**h, "Idempotency-Key": "k"}
    await api.call("POST", "/api/v1/payment/payments/initiate", headers, json={"order_id": 5}, expect=422)
    await api.call("POST", "/api/v1/payment/payments/initiate", headers, json={"order_id": order["id"]}, expect=201)


@pytest.mark.settings(rate_limits={**composition.RATE_LIMITS, "payment_initiate": (1000, 60)})
async def test_fifty_concurrent_initiations_with_one_key_make_one_payment(api, container, monkeypatch):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    calls = count_gateway_starts(api, monkeypatch)

    async def attempt():
        return await api.call("POST", "/api/v1/payment/payments/initiate", {**h, "Idempotency-Key": "race"},
                              json={"order_id": order["id"]})
    results = await asyncio.gather(*(attempt() for _ in range(50)))
    statuses = sorted({r.status for r, _ in results})
    assert set(statuses) <= {201, 409}
    created = {body for r, body in results if r.status == 201}
    assert len(created) == 1  # every success is the same bytes: one payment
    payments = await api.json("GET", f"/api/v1/payment/payments?order_id={order['id']}", h, expect=200)
    assert len(payments["results"]) == 1
    assert len(calls) == 1  # and one gateway initialization


async def test_a_mutating_post_with_a_key_is_replayed(api, container):
    h = await api.user()
    body = {"items": [{"sku": "GH-COCOA-1KG", "quantity": 1}]}
    first, raw1 = await api.call("POST", "/api/v1/payment/orders", {**h, "Idempotency-Key": "o1"}, json=body, expect=201)
    again, raw2 = await api.call("POST", "/api/v1/payment/orders", {**h, "Idempotency-Key": "o1"}, json=body, expect=201)
    assert raw1 == raw2 and again.headers["Idempotent-Replayed"] == "true"
    assert len((await api.json("GET", "/api/v1/payment/orders", h))["results"]) == 1
    stock = (await api.json("GET", "/api/v1/products/prd_gh_cocoa_1kg"))["stock"]
    await forget_idempotency_records(api.services)  # a crash lost the stored response
    retried = await api.json("POST", "/api/v1/payment/orders", {**h, "Idempotency-Key": "o1"}, json=body)
    assert retried["id"] == (await first.json())["id"]  # the same order, stock not taken again
    assert (await api.json("GET", "/api/v1/products/prd_gh_cocoa_1kg"))["stock"] == stock


async def test_rate_limits_answer_429_with_headers(aiohttp_client):
    c = composition.build_container({**FAST, "rate_limits": {**composition.RATE_LIMITS, "checkout_initiate": (2, 300)}},
                                    environ={})
    api = Api(await aiohttp_client(create_app(c)))
    h = await api.user()
    body = {"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]}
    ok, _ = await api.call("POST", "/api/v1/checkout/initiate", h, json=body, expect=201)
    assert ok.headers["RateLimit-Limit"] == "2" and ok.headers["RateLimit-Remaining"] == "1"
    assert ok.headers["X-RateLimit-Limit"] == "2"
    await api.call("POST", "/api/v1/checkout/initiate", h, json=body, expect=201)
    limited, _ = await api.call("POST", "/api/v1/checkout/initiate", h, json=body, expect=429)
    assert int(limited.headers["Retry-After"]) >= 1 and limited.headers["RateLimit-Remaining"] == "0"
    assert limited.content_type == "application/problem+json"
    other = await api.user()  # limits are per user
    await api.call("POST", "/api/v1/checkout/initiate", other, json=body, expect=201)


async def test_login_is_limited_per_email(api):
    await api.user(email="dave@example.com", password="dave-password")  # logs in once
    for _ in range(4):
        await api.call("POST", "/api/v1/auth/login", json={"email": "dave@example.com", "password": "wrong-password"},
                       expect=401)
    limited, _ = await api.call("POST", "/api/v1/auth/login", expect=429,
                                json={"email": "dave@example.com", "password": "dave-password"})
    assert "Retry-After" in limited.headers


async def test_fifty_parallel_partial_refunds_never_exceed_what_was_captured(api):
    h = await api.user()
    order = await api.order(h, items=[("US-HEADPHONES", 1)], ship_to=None)  # 7,999 USD cents
    payment = await api.initiate(h, order["id"], "pay")
    await api.sandbox(payment, "approve")
    amount = 300  # 50 x 300 = 15,000 > 7,999: at most 26 can succeed

    async def refund(i: int):
        resp, _ = await api.call("POST", "/api/v1/payment/refunds", {**h, "Idempotency-Key": f"r{i}"},
                                 json={"payment_id": payment["id"], "amount": amount, "reason": "other"})
        return resp.status
    statuses = await asyncio.gather(*(refund(i) for i in range(50)))
    assert set(statuses) <= {201, 422}
    listed = await api.json("GET", f"/api/v1/payment/refunds?payment_id={payment['id']}&limit=100", h)
    refunded = sum(r["amount"] for r in listed["results"] if r["status"] != "failed")
    assert statuses.count(201) == len(listed["results"]) == payment["amount"] // amount
    assert refunded <= payment["amount"] and payment["amount"] - refunded < amount
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "partially_refunded"


async def test_a_key_stays_held_while_its_handler_runs_past_the_lock(api, container, monkeypatch):
    """A handler may run longer than the key's lock (two gateway calls with retries): its lock is
    extended while it runs, so a retry with the same key is told to wait, never run beside it."""
    from adapters.system import FakeClock
    from entrypoints.http import idempotency

    clock = FakeClock()
    store = api.services.idempotency
    store.clock = clock
    monkeypatch.setattr(idempotency, "LOCK_SECONDS", 0.03)  # a beat every 10 ms (real time)
    h = await api.user()
    order = await api.order(h, ship_to=None)
    sandbox = api.services.sandbox
    real_initialize, release, calls = sandbox.initialize_payment, asyncio.Event(), []

    async def slow(request):
        calls.append(request.reference)
        await release.wait()  # the gateway takes its time
        return await real_initialize(request)
    monkeypatch.setattr(sandbox, "initialize_payment", slow)
    path, headers = "/api/v1/payment/payments/initiate", {**h, "Idempotency-Key": "slow"}
    first = asyncio.ensure_future(api.call("POST", path, headers, json={"order_id": order["id"]}))
    while not calls:
        await asyncio.sleep(0.005)
    clock.advance(3600)  # far past the lock: only a heartbeat since then keeps it held
    beat = asyncio.Event()
    real_extend = store.extend

    async def extend(scope, key):
        await real_extend(scope, key)
        beat.set()
    monkeypatch.setattr(store, "extend", extend)
    await asyncio.wait_for(beat.wait(), timeout=5)
    retry = await api.json("POST", path, headers, json={"order_id": order["id"]}, expect=409)
    assert retry["code"] == "idempotency_in_flight" and calls == [calls[0]]
    release.set()
    resp, body = await first
    assert resp.status == 201
    again, replayed = await api.call("POST", path, headers, json={"order_id": order["id"]}, expect=201)
    assert replayed == body and again.headers["Idempotent-Replayed"] == "true" and len(calls) == 1


async def test_a_lost_race_is_not_stored_as_the_keys_answer(api, monkeypatch):
    """A transient failure (a version check lost to a concurrent write) is not the final answer to
    its key: the same key sent again runs again, and succeeds."""
    from application.errors import ConcurrencyConflict

    h = await api.user()
    orders = api.services.orders
    real_create, tries = orders.create, []

    async def racy(*args, **kwargs):
        tries.append(1)
        if len(tries) == 1:
            raise ConcurrencyConflict("products prd_x was changed by another request")
        return await real_create(*args, **kwargs)
    monkeypatch.setattr(orders, "create", racy)
    headers = {**h, "Idempotency-Key": "order-1"}
    body = {"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]}
    lost = await api.json("POST", "/api/v1/payment/orders", headers, json=body, expect=409)
    assert lost["code"] == "concurrent_update"
    made, _ = await api.call("POST", "/api/v1/payment/orders", headers, json=body, expect=201)
    assert "Idempotent-Replayed" not in made.headers and len(tries) == 2


async def test_a_key_whose_release_failed_in_an_outage_is_freed_once_the_store_answers(api, monkeypatch):
    """Regression (found by the Postgres-cut battery): a request that met an outage answers 503, and
    releasing its key failed too (the store was cut as well), so every retry with the same key was
    told 409 "in progress" (Retry-After: 1) until the lock lapsed a minute later. The release is
    tried again in the background: the retry runs as soon as the store answers."""
    from application.errors import DependencyUnavailable

    h = await api.user()
    orders, store = api.services.orders, api.services.idempotency
    real_create, real_release, releases = orders.create, store.release, []

    async def cut(*args, **kwargs):
        raise DependencyUnavailable("postgres: connection terminated", "postgres")

    async def release(scope, key):
        releases.append(key)
        if len(releases) == 1:
            raise DependencyUnavailable("postgres: connection terminated", "postgres")
        await real_release(scope, key)
    monkeypatch.setattr(orders, "create", cut)
    monkeypatch.setattr(store, "release", release)
    headers = {**h, "Idempotency-Key": "order-cut"}
    body = {"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]}
    resp, _ = await api.call("POST", "/api/v1/payment/orders", headers, json=body, expect=503)
    assert resp.headers["Retry-After"]
    monkeypatch.setattr(orders, "create", real_create)  # the outage is over
    answers = []
    for _ in range(100):  # a client honouring Retry-After; well within the 60 s lock
        resp, _ = await api.call("POST", "/api/v1/payment/orders", headers, json=body)
        answers.append(resp.status)
        if resp.status != 409:
            break
        await asyncio.sleep(0.1)
    assert answers[-1] == 201 and len(answers) < 30, answers


async def test_a_key_whose_answer_could_not_be_stored_is_freed_for_the_retry(api, monkeypatch):
    """Regression (found by the Postgres-cut battery): the handler answered, then storing its answer
    failed (Postgres cut): the key stayed held, and every retry met 409 "in progress" for a minute.
    The retry now runs the handler again, which finds the payment the first run made. (The payment
    initiation stores its answer with its last transaction now; this is what every route that stores
    its answer after the handler does, so that is switched off here.)"""
    from application.errors import DependencyUnavailable
    from entrypoints.http import idempotency

    monkeypatch.setattr(idempotency.Staged, "recorder", lambda self, status, render: None)

    h = await api.user()
    order = await api.order(h, ship_to=None)
    store = api.services.idempotency
    real_complete, completes = store.complete, []

    async def complete(scope, key, response):
        completes.append(key)
        if len(completes) == 1:
            raise DependencyUnavailable("postgres: connection terminated", "postgres")
        await real_complete(scope, key, response)
    monkeypatch.setattr(store, "complete", complete)
    path, headers = "/api/v1/payment/payments/initiate", {**h, "Idempotency-Key": "cut-after"}
    await api.call("POST", path, headers, json={"order_id": order["id"]}, expect=503)
    answers = []
    for _ in range(100):  # a client honouring Retry-After; well within the 60 s lock
        resp, body = await api.call("POST", path, headers, json={"order_id": order["id"]})
        answers.append(resp.status)
        if resp.status != 409:
            break
        await asyncio.sleep(0.1)
    assert answers[-1] == 201 and len(answers) < 30, answers
    payments = await api.json("GET", "/api/v1/payment/payments", h, expect=200)
    assert [p["id"] for p in payments["results"]] == [json.loads(body)["id"]]  # one payment, found again


async def test_an_answer_staged_in_a_transaction_that_rolls_back_is_never_stored(api, monkeypatch):
    """The refund's answer is written by its settlement's transaction: when that transaction fails
    (the database cut after the answer was staged, before the COMMIT), neither the settlement nor the
    answer is stored, the key is released, and the retry finishes the same refund (one refund)."""
    from application.errors import DependencyUnavailable
    from entrypoints.http import idempotency

    h = await api.user()
    order = await api.order(h)
    payment = await api.sandbox(await api.initiate(h, order["id"], "pay-staged"), "approve")
    real = idempotency.Staged.recorder

    def failing(self, status, render):
        record = real(self, status, render)

        def staged_then_cut(uow, result):
            record(uow, result)
            raise DependencyUnavailable("postgres: connection terminated", "postgres")
        return staged_then_cut
    monkeypatch.setattr(idempotency.Staged, "recorder", failing)
    await api.refund(h, payment["id"], "rf-staged", amount=100, expect=503)
    monkeypatch.setattr(idempotency.Staged, "recorder", real)
    resp, body = await api.call("POST", "/api/v1/payment/refunds", {**h, "Idempotency-Key": "rf-staged"},
                                json={"payment_id": payment["id"], "reason": "requested_by_customer", "amount": 100})
    assert resp.status == 201 and "Idempotent-Replayed" not in resp.headers  # run again: nothing was stored
    refund = json.loads(body)
    assert refund["status"] == "succeeded" and refund["amount"] == 100
    refunds = await api.json("GET", f"/api/v1/payment/refunds?payment_id={payment['id']}", h, expect=200)
    assert [r["id"] for r in refunds["results"]] == [refund["id"]]
    resp, again = await api.call("POST", "/api/v1/payment/refunds", {**h, "Idempotency-Key": "rf-staged"},
                                 json={"payment_id": payment["id"], "reason": "requested_by_customer", "amount": 100})
    assert resp.status == 201 and resp.headers["Idempotent-Replayed"] == "true" and again == body


async def test_a_full_refund_retried_after_a_crash_is_the_same_refund_though_nothing_is_left_to_refund(
        api, monkeypatch):
    """The retry's own reservation took the whole balance: the retry gets that refund, not 'refunded
    in full' (the reservation no longer reads the refund's id before its checks: it reads it when
    they refuse). The same key for another payment is refused, whether that payment could be
    refunded (the insert meets the reserved id) or not (the checks refuse, the id is found)."""
    h = await api.user()
    paid = []
    for key in ("full-1", "full-2"):
        payment = await api.initiate(h, (await api.order(h, ship_to=None))["id"], key)
        paid.append(await api.sandbox(payment, "approve"))
    unpaid = await api.initiate(h, (await api.order(h, ship_to=None))["id"], "full-3")
    payouts = count_sandbox_payouts(api, monkeypatch)
    first = await api.refund(h, paid[0]["id"], "full-key")
    assert first["status"] == "succeeded" and first["amount"] == paid[0]["amount"]
    await forget_idempotency_records(api.services)  # died after the payout, before the answer was stored
    again = await api.refund(h, paid[0]["id"], "full-key")
    assert again["id"] == first["id"] and again["status"] == "succeeded"
    for other in (paid[1], unpaid):
        await forget_idempotency_records(api.services)
        refused = await api.refund(h, other["id"], "full-key", expect=409)
        assert "another payment" in refused["detail"]
    assert payouts == [first["id"]]  # one payout in all
    listed = await api.json("GET", f"/api/v1/payment/refunds?payment_id={paid[1]['id']}", h)
    assert listed["results"] == []
