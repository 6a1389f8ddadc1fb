"""Refunds against a gateway that misbehaves (issue 14's battery): the whole service, on memory and
on Postgres + Redis, with Stripe pointed at the fake gateway on loopback. Each run pays an order,
then asks for random partial refunds while the fake accepts a refund and then times out, fails
until the breaker opens, answers 409 ``idempotency_key_in_use`` and has pruned keys; refunds settle
only by a signed webhook or by the worker's lookup. After the worker has run its course:

- refunded at the gateway == refunded in our ledger (per payment, in every run);
- no refund is paid twice at the gateway for one refund of ours;
- refunded <= captured;
- a refund we could not settle is one reconcile reports (none are left here).

``PAYPORT_RELIABILITY_FULL=1`` runs 40 runs per backend; CI runs 4 on memory and 2 on Postgres.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import random

import pytest

from tests.e2e.api import Api
from tests.reliability.conftest import service
from tests.reliability.fake_gateway import (key_expired, key_in_use, server_error, timeout_after_commit,
                                            timeout_before_commit)

FULL = os.environ.get("PAYPORT_RELIABILITY_FULL") == "1"
RUNS = {"memory": 40 if FULL else 4, "postgres": 40 if FULL else 2}
WHSEC = "whsec_battery_refunds"
#: what the fake may do to one create call (None: nothing)
FAULTS = (None, None, "after_commit", "before_commit", "errors", "in_use", "pruned")
FIGURES: dict[str, dict] = {}


@pytest.fixture(params=["memory", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
async def api(aiohttp_client, app_settings, fake, clock):
    environ = {"STRIPE_SECRET_KEY": "sk_test_battery", "STRIPE_WEBHOOK_SECRET": WHSEC,
               "STRIPE_BASE_URL": fake.url("stripe"), "STRIPE_TIMEOUT": "0.6", "STRIPE_CONNECT_TIMEOUT": "0.5"}
    return await service(aiohttp_client, app_settings, environ, clock)


def signed(payload: dict, clock) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    t = int(clock.now().timestamp())
    sig = hmac.new(WHSEC.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"}


async def webhook(api: Api, clock, event_id: str, kind: str, obj: dict) -> None:
    body, headers = signed({"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}, clock)
    resp, _ = await api.call("POST", "/api/v1/payment/webhooks/stripe", headers=headers, data=body)
    assert resp.status in (200, 202), resp.status


async def paid_order(api: Api, fake, clock) -> tuple[dict, dict]:
    h = await api.user(email=f"buyer{fake.next_id()}@example.com")
    order = await api.order(h, items=(("US-HEADPHONES", 2),), ship_to="US")
    payment = await api.initiate(h, order["id"], f"pay-{order['id']}", gateway="stripe")
    session_id = payment["gateway_reference"]
    assert fake.stripe.pay(session_id)
    session = fake.stripe.sessions[session_id]
    await webhook(api, clock, f"evt_{fake.next_id()}", "checkout.session.completed", session)
    payment = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h, expect=200)
    assert payment["status"] == "succeeded", payment
    return h, payment


def script_fault(fake, kind: str | None) -> None:
    op = "stripe.refunds.create"
    if kind == "after_commit":
        fake.script(op, timeout_after_commit(1.0))
    elif kind == "before_commit":
        fake.script(op, timeout_before_commit(1.0))
    elif kind == "errors":  # enough 5xx for the breaker to open on the way
        fake.script(op, *[server_error(503) for _ in range(6)])
    elif kind == "in_use":
        fake.script(op, key_in_use())
    elif kind == "pruned":
        fake.script(op, key_expired())


async def settle_at_gateway(api: Api, fake, clock, rng: random.Random, reported: set[str]) -> None:
    """The gateway finishes what it holds, each refund succeeding or failing; half of the outcomes
    are told by webhook (sometimes twice), the rest left for the worker's lookup."""
    for gateway_id, refund in list(fake.stripe.refunds.items()):
        if refund["status"] != "pending" or gateway_id in reported:
            continue
        outcome = "succeeded" if rng.random() < 0.8 else "failed"
        fake.stripe.settle_refund(gateway_id, outcome, None if outcome == "succeeded" else "lost_or_stolen_card")
        reported.add(gateway_id)
        if rng.random() < 0.5:
            for _ in range(rng.choice((1, 2))):
                await webhook(api, clock, f"evt_rf_{gateway_id}", "refund.updated", fake.stripe.refunds[gateway_id])


async def sign_in(api: Api) -> dict:
    """An admin's header (again each run: the clock moves hours per run, past the token's life)."""
    tokens = await api.json("POST", "/api/v1/auth/login", expect=200,
                            json={"email": "admin@example.com", "password": "admin-password-1"})
    return {"Authorization": f"Bearer {tokens['access']}"}


async def one_run(api: Api, fake, clock, rng: random.Random) -> dict:
    admin = await sign_in(api)
    _, payment = await paid_order(api, fake, clock)
    captured, asked, answers = payment["captured_amount"], 0, {}
    for n in range(rng.randint(2, 5)):
        amount = rng.randint(1, max(1, captured // 3))
        fault = rng.choice(FAULTS)
        script_fault(fake, fault)
        key = f"rf-{payment['id']}-{n}"
        resp, body = await api.call("POST", "/api/v1/payment/refunds", {**admin, "Idempotency-Key": key},
                                    json={"payment_id": payment["id"], "amount": amount,
                                          "reason": "requested_by_customer"})
        answers[resp.status] = answers.get(resp.status, 0) + 1
        assert resp.status < 500 or resp.status in (502, 503, 504), (resp.status, body[:300])
        if resp.status in (201, 202):
            asked += amount
        fake._faults.clear()  # what was not met is not carried to the next refund
        if rng.random() < 0.5:
            await settle_at_gateway(api, fake, clock, rng, set())
    reported: set[str] = set()
    services = api.services
    for _ in range(12):  # the worker's course: backoff, resend past the no-record window, lookups
        clock.advance(11 * 60)
        await settle_at_gateway(api, fake, clock, rng, reported)
        await services.maintenance.run_once()
    detail = await api.json("GET", f"/api/v1/admin/payments/{payment['id']}", admin, expect=200)
    return {"payment": payment, "detail": detail, "answers": answers, "asked": asked}


def at_gateway(fake, reference: str) -> tuple[int, dict[str, int]]:
    """What the fake refunded for a payment, and how many of its refunds each of ours made."""
    succeeded = [r for r in fake.refunds_of("stripe", reference) if r.status == "succeeded"]
    per_ours: dict[str, int] = {}
    for record in fake.refunds_of("stripe", reference):
        if record.status != "failed":
            per_ours[record.refund_id] = per_ours.get(record.refund_id, 0) + 1
    return sum(r.amount for r in succeeded), per_ours


async def test_refunded_at_the_gateway_is_refunded_in_the_ledger(api, fake, clock, backend):
    rng, figures = random.Random(1414), {"runs": 0, "refund requests": 0, "answers": {}, "mismatches": 0,
                                         "double refunds": 0, "open after the worker": 0}
    for _ in range(RUNS[backend]):
        run = await one_run(api, fake, clock, rng)
        reference, detail = run["payment"]["reference"], run["detail"]
        gateway_total, per_ours = at_gateway(fake, reference)
        ledger = sum(row["amount"] for row in detail["ledger"] if row["type"] == "refund" and row["status"] == "succeeded")
        ours = sum(r["amount"] for r in detail["refunds"] if r["status"] == "succeeded")
        figures["runs"] += 1
        figures["refund requests"] += sum(run["answers"].values())
        for status, count in run["answers"].items():
            figures["answers"][str(status)] = figures["answers"].get(str(status), 0) + count
        figures["mismatches"] += gateway_total != ledger
        figures["double refunds"] += sum(1 for count in per_ours.values() if count > 1)
        open_ = [r for r in detail["refunds"] if r["status"] in ("pending", "processing")]
        figures["open after the worker"] += len(open_)
        assert gateway_total == ledger == ours, (gateway_total, ledger, ours, detail["refunds"], fake.refunds)
        assert all(count == 1 for count in per_ours.values()), per_ours
        assert ledger <= run["payment"]["captured_amount"]
        assert not open_, open_
    findings = await api.services.maintenance.reconcile()
    assert findings == [], findings
    # a difference is what reconcile is for: a refund left open an hour is a finding
    admin = await sign_in(api)
    _, payment = await paid_order(api, fake, clock)
    fake.script("stripe.refunds.create", *[timeout_before_commit(1.0) for _ in range(3)])
    fake.script("stripe.refunds.list", *[server_error(503) for _ in range(50)])
    fake.script("stripe.refunds.retrieve", *[server_error(503) for _ in range(50)])
    resp, _ = await api.call("POST", "/api/v1/payment/refunds", {**admin, "Idempotency-Key": "rf-open"},
                             json={"payment_id": payment["id"], "amount": 100, "reason": "requested_by_customer"})
    assert resp.status in (201, 202, 502, 503, 504)
    clock.advance(2 * 3600)
    await api.services.maintenance.run_once()
    findings = await api.services.maintenance.reconcile()
    assert [f.kind for f in findings if payment["id"] in (f.subject, *f.detail.split())] or \
        any(f.kind.startswith("refund") for f in findings), findings
    figures["create calls at the gateway"] = fake.received("stripe.refunds.create")
    figures["lookups at the gateway"] = fake.received("stripe.refunds.list") + fake.received("stripe.refunds.retrieve")
    figures["gateway refunds succeeded / failed"] = [sum(r.status == s for r in fake.refunds) for s in ("succeeded", "failed")]
    assert figures["create calls at the gateway"] > figures["refund requests"]  # the faults were met
    FIGURES[backend] = figures
    print(f"\nrefund battery ({backend}): {json.dumps(figures)}")
