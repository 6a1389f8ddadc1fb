"""Webhooks, for every gateway: forged, tampered by one byte, re-serialized, stale, sent to another
gateway's route, and replayed 100 times -> accepted state changes 0; one valid event replayed 100
times -> exactly 1 effect. The real adapters run behind the HTTP API, every outgoing call answered
by aioresponses; a weakly signed gateway's status API says "not paid" while the attacks run."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

import pytest
from aiohttp import web

from adapters.gateways.mtn_momo import MtnMomoGateway, momo_reference_id
from adapters.gateways.sandbox import sign as sandbox_sign
from entrypoints.http.app import create_app
from tests.e2e.api import ledger
from tests.security.conftest import Client, address, make_container

API = "/api/v1"
REPLAYS = 100
ENV = {"STRIPE_SECRET_KEY": "sk_test_battery", "STRIPE_WEBHOOK_SECRET": "whsec_battery",
       "PAYSTACK_SECRET_KEY": "sk_test_battery_paystack",
       "FLUTTERWAVE_SECRET_KEY": "FLWSECK_TEST-battery", "FLUTTERWAVE_SECRET_HASH": "flw-battery-hash",
       "MOMO_SUBSCRIPTION_KEY": "momo-sub", "MOMO_API_USER": "c72025f5-5cd1-4630-99e4-8ba4722fad56",
       "MOMO_API_KEY": "momo-key", "MOMO_CALLBACK_SECRET": "momo-callback-secret",
       "MOMO_CALLBACK_URL": "https://pay.example/api/v1/payment/webhooks/mtn_momo"}
#: the app's clock (a FakeClock): what signatures are timed by
NOW = [lambda: int(time.time())]
#: what the battery found, by gateway and attack (docs/security.md)
FIGURES: dict[str, dict[str, int]] = {}


OPEN = {"requires_payment_method", "requires_action", "processing"}


async def state(client: Client, container, payment: dict, h: dict) -> tuple:
    """Everything an accepted webhook could change: the payment's outcome, the money captured, its
    order, its ledger, the notices. (A weakly signed gateway's message makes us ask its status API;
    its own "pending" may move requires_action to processing: the gateway's word, not the attacker's,
    so an open status counts as one.)"""
    p = await client.json("GET", f"{API}/payment/payments/{payment['id']}", h, expect=200)
    o = await client.json("GET", f"{API}/payment/orders/{payment['order_id']}", h, expect=200)
    notes = await client.json("GET", f"{API}/notifications?limit=100", h, expect=200)
    outcome = "open" if p["status"] in OPEN else p["status"]
    return (outcome, p["captured_amount"], o["status"], len(await ledger(container, payment["id"])),
            len(notes["results"]))


def _stripe(payment: dict, ts: int | None = None, secret: str = ENV["STRIPE_WEBHOOK_SECRET"]):
    body = json.dumps({"id": "evt_" + payment["reference"], "type": "checkout.session.completed", "data": {"object": {
        "id": "cs_" + payment["reference"], "object": "checkout.session", "status": "complete",
        "payment_status": "paid", "client_reference_id": payment["reference"], "amount_total": payment["amount"],
        "currency": payment["currency"].lower(), "metadata": {"reference": payment["reference"]}}}}).encode()
    ts = ts or NOW[0]()
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={ts},v1={sig}", "Content-Type": "application/json"}, body, ""


def _paystack(payment: dict, secret: str = ENV["PAYSTACK_SECRET_KEY"]):
    body = json.dumps({"event": "charge.success", "data": {
        "id": 77, "reference": payment["reference"], "status": "success", "amount": payment["amount"],
        "currency": payment["currency"]}}).encode()
    return {"x-paystack-signature": hmac.new(secret.encode(), body, hashlib.sha512).hexdigest(),
            "Content-Type": "application/json"}, body, ""


def _flutterwave(payment: dict, hash_: str = ENV["FLUTTERWAVE_SECRET_HASH"]):
    body = json.dumps({"event": "charge.completed", "data": {
        "id": 9100, "tx_ref": payment["reference"], "status": "successful", "amount": payment["amount"] // 100,
        "currency": payment["currency"]}}).encode()
    return {"verif-hash": hash_, "Content-Type": "application/json"}, body, ""


def _momo(payment: dict, token: str | None = None):
    from adapters.gateways.config import gateway_settings_from_env

    real = MtnMomoGateway(None, gateway_settings_from_env(ENV)["mtn_momo"]).callback_token(payment["reference"])
    body = json.dumps({"status": "SUCCESSFUL", "amount": str(payment["amount"] // 100), "currency": "EUR",
                       "financialTransactionId": "555", "externalId": payment["reference"]}).encode()
    return ({"Content-Type": "application/json"}, body,
            f"?reference={payment['reference']}&token={token or real}")


def _sandbox(payment: dict, secret: str, ts: int | None = None):
    body = json.dumps({"id": "evt_sbx_" + payment["reference"], "type": "payment.approved", "data": {
        "reference": payment["reference"], "id": "sbx_1", "amount": payment["amount"],
        "currency": payment["currency"], "status": "approved"}}).encode()
    return {"Payport-Sandbox-Signature": sandbox_sign(secret, body, ts or NOW[0]()),
            "Content-Type": "application/json"}, body, ""


def _one_byte(body: bytes) -> bytes:
    """The body with one byte changed: the first digit of the amount."""
    i = re.search(rb'"amount[a-z_]*": "?(\d)', body).start(1)
    return body[:i] + (b"9" if body[i:i + 1] != b"9" else b"8") + body[i + 1:]


def _reserialized(body: bytes) -> bytes:
    return json.dumps(json.loads(body), indent=1, sort_keys=True).encode()


def attacks(name: str, payment: dict, valid, sandbox_secret: str = ""):
    """(attack, headers, body, query, route gateway) for ``name``'s valid event ``valid``."""
    headers, body, query = valid
    out = []
    if name == "stripe":
        forged = _stripe(payment, secret="whsec_forged")
        stale = _stripe(payment, ts=NOW[0]() - 301)
    elif name == "paystack":
        forged = _paystack(payment, secret="sk_forged")
        stale = None  # Paystack signs no time
    elif name == "flutterwave":
        forged = _flutterwave(payment, hash_="forged-hash")
        stale = None
    elif name == "mtn_momo":
        forged = _momo(payment, token="0" * 32)
        stale = None
    else:
        forged = _sandbox(payment, "forged-secret")
        stale = _sandbox(payment, sandbox_secret, ts=NOW[0]() - 301)
    out.append(("forged", *forged, name))
    out.append(("tampered by one byte", headers, _one_byte(body), query, name))
    out.append(("re-serialized", headers, _reserialized(body), query, name))
    if stale is not None:
        out.append(("stale (301 s)", *stale, name))
    for other in ("stripe", "paystack", "flutterwave", "mtn_momo", "sandbox"):
        if other != name:
            out.append((f"on {other}'s route", headers, body, query, other))
    return out


async def _send(client, gateway: str, headers: dict, body: bytes, query: str):
    method = "PUT" if gateway == "mtn_momo" else "POST"
    resp, raw = await client.call(method, f"{API}/payment/webhooks/{gateway}{query}", {**headers, **address()},
                                  data=body)
    assert resp.status < 500, (gateway, resp.status, raw[:300])
    return resp.status


def _not_paid(http, payment: dict) -> None:
    """The gateways' status APIs, while the attacks run: nothing was paid."""
    ref = payment["reference"]
    http.get(re.compile(r"https://api\.stripe\.com/v1/checkout/sessions/.*"), repeat=True,
             payload={"id": "cs_" + ref, "object": "checkout.session", "status": "open", "payment_status": "unpaid",
                      "client_reference_id": ref, "metadata": {"reference": ref}})
    http.get(re.compile(r"https://api\.paystack\.co/transaction/verify/.*"), repeat=True,
             payload={"status": True, "data": {"reference": ref, "status": "abandoned"}})
    http.get(re.compile(r"https://api\.flutterwave\.com/v3/transactions/verify_by_reference.*"), repeat=True,
             payload={"status": "success", "data": {"id": 9100, "tx_ref": ref, "status": "pending"}})
    http.get(re.compile(r"https://api\.flutterwave\.com/v3/transactions\?tx_ref=.*"), repeat=True,
             payload={"status": "success", "data": []})
    http.post(re.compile(r"https://sandbox\.momodeveloper\.mtn\.com/collection/token/"), repeat=True,
              payload={"access_token": "momo-token", "expires_in": 3600})
    http.get(re.compile(r"https://sandbox\.momodeveloper\.mtn\.com/collection/v1_0/requesttopay/.*"), repeat=True,
             payload={"status": "PENDING", "externalId": ref, "amount": "1", "currency": "EUR"})


def _paid(http, payment: dict) -> None:
    ref, amount, currency = payment["reference"], payment["amount"], payment["currency"]
    http.get(re.compile(r"https://api\.stripe\.com/v1/checkout/sessions/.*"), repeat=True, payload={
        "id": "cs_" + ref, "object": "checkout.session", "status": "complete", "payment_status": "paid",
        "client_reference_id": ref, "amount_total": amount, "currency": currency.lower(), "payment_intent": {
            "id": "pi_1", "status": "succeeded", "amount": amount, "currency": currency.lower()},
        "metadata": {"reference": ref}})
    http.get(re.compile(r"https://api\.paystack\.co/transaction/verify/.*"), repeat=True, payload={
        "status": True, "data": {"id": 77, "reference": ref, "status": "success", "amount": amount,
                                 "currency": currency}})
    http.get(re.compile(r"https://api\.flutterwave\.com/v3/transactions/verify_by_reference.*"), repeat=True,
             payload={"status": "success", "data": {"id": 9100, "tx_ref": ref, "status": "successful",
                                                    "amount": amount // 100, "currency": currency}})
    http.post(re.compile(r"https://sandbox\.momodeveloper\.mtn\.com/collection/token/"), repeat=True,
              payload={"access_token": "momo-token", "expires_in": 3600})
    http.get(re.compile(r"https://sandbox\.momodeveloper\.mtn\.com/collection/v1_0/requesttopay/.*"), repeat=True,
             payload={"status": "SUCCESSFUL", "externalId": ref, "amount": str(amount // 100), "currency": "EUR",
                      "financialTransactionId": "555"})


INIT = {
    "stripe": ("US-HEADPHONES", lambda http: http.post("https://api.stripe.com/v1/checkout/sessions", payload={
        "id": "cs_battery", "url": "https://checkout.stripe.com/c/pay/cs_battery", "status": "open",
        "payment_status": "unpaid"})),
    "paystack": ("NG-RICE-5KG", lambda http: http.post("https://api.paystack.co/transaction/initialize", payload={
        "status": True, "data": {"authorization_url": "https://checkout.paystack.com/b", "access_code": "b"}})),
    "flutterwave": ("KE-TEA-500G", lambda http: http.post("https://api.flutterwave.com/v3/payments", payload={
        "status": "success", "data": {"link": "https://checkout.flutterwave.com/b"}})),
    "mtn_momo": ("EU-COFFEE-1", lambda http: (
        http.post(re.compile(r"https://sandbox\.momodeveloper\.mtn\.com/collection/token/"),
                  payload={"access_token": "momo-token", "expires_in": 3600}),
        http.post("https://sandbox.momodeveloper.mtn.com/collection/v1_0/requesttopay", status=202, body=""))),
}


@pytest.mark.parametrize("gateway", ["stripe", "paystack", "flutterwave", "mtn_momo", "sandbox"])
async def test_webhook_attacks_change_nothing_and_a_valid_event_counts_once(aiohttp_client, http, clock, gateway):
    real = gateway != "sandbox"
    NOW[0] = lambda: int(clock.now().timestamp())
    container = make_container(clock, {"sandbox": "off" if real else "on"}, environ=ENV if real else {})
    client = Client(await aiohttp_client(create_app(container)))
    secret = container.config()["sandbox_secret"]
    h = await client.user()
    if gateway == "mtn_momo":
        admin = await client.admin()
        await client.json("POST", f"{API}/products", admin, expect=201, json={
            "sku": "EU-COFFEE-1", "name": "Coffee", "price": 1000, "currency": "EUR", "stock": 100, "shippable": False,
            "category": "groceries"})
    sku, init = INIT.get(gateway, ("NG-RICE-5KG", lambda http: None))
    init(http)
    order = await client.order(h, items=[(sku, 1)], ship_to=None)
    extra = {"phone": "+46733123453", "gateway": "mtn_momo"} if gateway == "mtn_momo" else {}
    payment = await client.initiate(h, order["id"], f"battery-{gateway}", **extra)
    assert payment["gateway"] == gateway
    valid = {"stripe": _stripe, "paystack": _paystack, "flutterwave": _flutterwave, "mtn_momo": _momo}.get(
        gateway, lambda p: _sandbox(p, secret))(payment)

    _not_paid(http, payment)
    before = await state(client, container, payment, h)
    figures = {}
    for attack, headers, body, query, route in attacks(gateway, payment, valid, secret):
        for _ in range(REPLAYS if attack == "forged" else 1):
            await _send(client, route, headers, body, query)
        after = await state(client, container, payment, h)
        figures[attack] = int(after != before)
    assert figures == {attack: 0 for attack in figures}, figures

    http.clear()
    _paid(http, payment)
    if gateway in ("flutterwave", "mtn_momo"):  # the gateway's real notice, after the attackers' copies
        headers, body, query = valid          # (their unsigned bodies are hints: a new event id, not a
        valid = headers, body.replace(b"9100", b"9101").replace(b'"555"', b'"556"'), query  # new claim)
    for _ in range(REPLAYS):
        await _send(client, gateway, *valid)
    settled = await state(client, container, payment, h)
    assert settled[:4] == ("succeeded", payment["amount"], "paid", 1), settled
    notes = await client.json("GET", f"{API}/notifications?limit=100", h, expect=200)
    assert [n["kind"] for n in notes["results"]].count("payment_completed") == 1
    figures[f"valid, replayed {REPLAYS}x: effects"] = settled[3]
    FIGURES[gateway] = figures


async def test_a_momo_callback_for_another_gateways_payment_is_not_stored_and_asks_no_one(aiohttp_client, http,
                                                                                        clock):
    container = make_container(clock, {"sandbox": "off"}, environ=ENV)
    client = Client(await aiohttp_client(create_app(container)))
    h = await client.user()
    INIT["paystack"][1](http)
    order = await client.order(h, items=[("NG-RICE-5KG", 1)], ship_to=None)
    payment = await client.initiate(h, order["id"], "foreign")
    headers, body, query = _momo(payment)  # a valid token: the reference is ours, the payment is Paystack's
    calls_before = sum(len(c) for c in http.requests.values())
    answer = await client.json("PUT", f"{API}/payment/webhooks/mtn_momo{query}", headers, data=body, expect=200)
    assert answer["status"] == "ignored"
    assert sum(len(c) for c in http.requests.values()) == calls_before  # no verify call at all
    async with (await _uow(container))() as uow:
        assert await uow.webhooks.pending(100, due_by=clock.now(), max_attempts=100) == []


async def test_one_momo_payment_cannot_fill_the_inbox(aiohttp_client, http, clock):
    container = make_container(clock, {"sandbox": "off"}, environ=ENV)
    client = Client(await aiohttp_client(create_app(container)))
    admin, h = await client.admin(), await client.user()
    await client.json("POST", f"{API}/products", admin, expect=201, json={
        "sku": "EU-COFFEE-1", "name": "Coffee", "price": 1000, "currency": "EUR", "stock": 100, "shippable": False, "category": "groceries"})
    INIT["mtn_momo"][1](http)
    order = await client.order(h, items=[("EU-COFFEE-1", 1)], ship_to=None)
    payment = await client.initiate(h, order["id"], "cap", phone="+46733123453", gateway="mtn_momo")
    _not_paid(http, payment)
    limit, _ = client.services.rate_limits["webhook_store_reference"]
    statuses = []
    for n in range(limit + 3):  # each a "new" event: another financialTransactionId
        headers, body, query = _momo(payment)
        body = body.replace(b'"555"', f'"{n}"'.encode())
        resp, _ = await client.call("PUT", f"{API}/payment/webhooks/mtn_momo{query}", {**headers, **address()},
                                    data=body)
        statuses.append(resp.status)
    assert statuses[:limit] == [200] * limit and statuses[limit:] == [429] * 3
    assert momo_reference_id(payment["reference"])  # the request-to-pay is the payment's own


async def test_one_source_cannot_fill_the_inbox(aiohttp_client, http, clock):
    """What one address may make us store (``webhook_store_ip``, here 3 an hour), whatever it names."""
    container = make_container(clock, {"sandbox": "off", "rate_limits": {"webhook_store_ip": (3, 3600)}},
                               environ=ENV)
    client = Client(await aiohttp_client(create_app(container)))
    admin, h = await client.admin(), await client.user()
    await client.json("POST", f"{API}/products", admin, expect=201, json={
        "sku": "EU-COFFEE-1", "name": "Coffee", "price": 1000, "currency": "EUR", "stock": 100, "shippable": False,
        "category": "groceries"})
    INIT["mtn_momo"][1](http)
    order = await client.order(h, items=[("EU-COFFEE-1", 1)], ship_to=None)
    payment = await client.initiate(h, order["id"], "source-cap", phone="+46733123453", gateway="mtn_momo")
    _not_paid(http, payment)
    source = address()

    async def callback(n: int, where: dict) -> int:
        headers, body, query = _momo(payment)
        body = body.replace(b'"555"', f'"{n}"'.encode())  # each a "new" event
        resp, _ = await client.call("PUT", f"{API}/payment/webhooks/mtn_momo{query}", {**headers, **where}, data=body)
        return resp.status
    assert [await callback(n, source) for n in range(5)] == [200, 200, 200, 429, 429]
    assert await callback(99, address()) == 200  # another source: its own allowance (the 429s stored nothing:
    # they are answered before the inbox is written)


async def _uow(container):
    from container import resolve

    return await resolve(container.storage.uow)


def test_the_figures_are_kept_for_the_docs():
    assert isinstance(FIGURES, dict) and web  # filled by the tests above when they run first
