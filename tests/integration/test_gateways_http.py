"""Real gateway adapters behind the HTTP API: initialize -> webhook -> (verify) -> succeeded -> refund,
with every outgoing call answered by aioresponses from the documented shapes."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re


import container as composition
from entrypoints.http.app import create_app
from tests.e2e.api import Api
from tests.e2e.conftest import FAST

PAYSTACK_KEY = "sk_test_payport_paystack"
STRIPE_ENV = {"STRIPE_SECRET_KEY": "sk_test_payport_stripe", "STRIPE_WEBHOOK_SECRET": "whsec_payport_stripe"}
FLW_ENV = {"FLUTTERWAVE_SECRET_KEY": "FLWSECK_TEST-payport-x", "FLUTTERWAVE_SECRET_HASH": "flw-hash-payport"}


async def app_with(aiohttp_client, environ: dict) -> Api:
    return Api(await aiohttp_client(create_app(composition.build_container(dict(FAST), environ=environ))))


def captured_json(http, method: str, pattern: str) -> list[dict]:
    return [json.loads(call.kwargs["data"]) for (m, url), calls in http.requests.items()
            if m == method and re.search(pattern, str(url)) for call in calls]


async def flutterwave_payment(aiohttp_client, http, key: str, items=(("KE-TEA-500G", 1),)):
    """An app with Flutterwave, a customer, a KES order and its payment initiated on a hosted link."""
    api = await app_with(aiohttp_client, FLW_ENV)
    h = await api.user()
    order = await api.order(h, items=list(items), ship_to=None)
    http.post("https://api.flutterwave.com/v3/payments",
              payload={"status": "success", "message": "Hosted Link", "data": {"link": f"https://f/{key}"}})
    return api, h, order, await api.initiate(h, order["id"], key)


def paystack_refund_event(kind: str, reference: str, amount: int) -> dict:
    """As PaystackOSS/doc-code-snippets shows it: no refund id, no merchant_note."""
    return {"event": kind, "data": {"status": kind.removeprefix("refund."), "transaction_reference": reference,
                                    "refund_reference": None, "amount": str(amount), "currency": "NGN",
                                    "processor": "instant-transfer", "integration": 412829, "domain": "test",
                                    "customer": {"first_name": "A", "last_name": "B", "email": "a@example.com"}}}


def paystack_signed(payload: dict) -> tuple[dict, bytes]:
    body = json.dumps(payload).encode()
    signature = hmac.new(PAYSTACK_KEY.encode(), body, hashlib.sha512).hexdigest()
    return {"x-paystack-signature": signature, "Content-Type": "application/json"}, body


async def test_paystack_initialize_webhook_refund(aiohttp_client, http):
    api = await app_with(aiohttp_client, {"PAYSTACK_SECRET_KEY": PAYSTACK_KEY})
    h = await api.user()
    order = await api.order(h, items=[("NG-RICE-5KG", 1)], ship_to=None)
    http.post("https://api.paystack.co/transaction/initialize", payload={
        "status": True, "message": "Authorization URL created",
        "data": {"authorization_url": "https://checkout.paystack.com/abc123", "access_code": "abc123"}})
    payment = await api.initiate(h, order["id"], "ps-1")
    assert (payment["gateway"], payment["status"]) == ("paystack", "requires_action")
    assert payment["authorization_url"] == "https://checkout.paystack.com/abc123"
    (sent,) = captured_json(http, "POST", "transaction/initialize")
    assert (sent["amount"], sent["currency"], sent["reference"]) == (order["total"], "NGN", payment["reference"])
    assert sent["callback_url"].endswith(f"/api/v1/payment/payments/callback?reference={payment['reference']}")

    charge = {"event": "charge.success", "data": {"id": 4099, "reference": payment["reference"], "status": "success",
                                                  "amount": order["total"], "currency": "NGN"}}
    headers, body = paystack_signed(charge)
    forged = {**headers, "x-paystack-signature": "0" * 128}
    await api.call("POST", "/api/v1/payment/webhooks/paystack", forged, data=body, expect=401)
    tampered = body.replace(str(order["total"]).encode(), b"1")
    await api.call("POST", "/api/v1/payment/webhooks/paystack", headers, data=tampered, expect=401)
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "requires_action"

    assert (await api.json("POST", "/api/v1/payment/webhooks/paystack", headers, data=body, expect=200))["status"] == "processed"
    assert (await api.json("POST", "/api/v1/payment/webhooks/paystack", headers, data=body, expect=200))["status"] == "duplicate"
    paid = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h)
    assert paid["status"] == "succeeded" and paid["captured_amount"] == order["total"]

    http.post("https://api.paystack.co/refund", payload={
        "status": True, "message": "Refund has been queued for processing",
        "data": {"id": 777, "status": "pending", "amount": 100_000, "currency": "NGN"}})
    refund = await api.refund(h, payment["id"], "ps-r1", amount=100_000)
    assert refund["status"] in ("pending", "processing")
    (asked,) = captured_json(http, "POST", "/refund")
    assert (asked["transaction"], asked["amount"]) == ("4099", 100_000)
    assert asked["merchant_note"].startswith(f"{refund['id']}: ")  # our id, for lookups by refund id
    # the documented refund.processed payload carries no refund id: accepted and stored
    headers, body = paystack_signed(paystack_refund_event("refund.processed", payment["reference"], 100_000))
    await api.json("POST", "/api/v1/payment/webhooks/paystack", headers, data=body, expect=200)


async def test_paystack_refund_webhook_without_a_refund_id_settles_the_refund(aiohttp_client, http):
    api = await app_with(aiohttp_client, {"PAYSTACK_SECRET_KEY": PAYSTACK_KEY})
    h = await api.user()
    order = await api.order(h, items=[("NG-RICE-5KG", 1)], ship_to=None)
    http.post("https://api.paystack.co/transaction/initialize",
              payload={"status": True, "data": {"authorization_url": "https://checkout.paystack.com/abc"}})
    payment = await api.initiate(h, order["id"], "ps-2")
    charge = {"event": "charge.success", "data": {"id": 4100, "reference": payment["reference"], "status": "success",
                                                  "amount": order["total"], "currency": "NGN"}}
    headers, body = paystack_signed(charge)
    await api.json("POST", "/api/v1/payment/webhooks/paystack", headers, data=body, expect=200)
    http.post("https://api.paystack.co/refund", payload={"status": True, "data": {
        "id": 778, "status": "pending", "amount": 100_000, "currency": "NGN", "merchant_note": "x"}})
    refund = await api.refund(h, payment["id"], "ps-r2", amount=100_000)
    http.get(re.compile(r"https://api\.paystack\.co/refund.*"), repeat=True, payload={"status": True, "data": {
        "id": 778, "status": "processed", "amount": 100_000, "currency": "NGN", "transaction": 4100,
        "merchant_note": f"{refund['id']}: requested_by_customer"}})
    headers, body = paystack_signed(paystack_refund_event("refund.processed", payment["reference"], 100_000))
    await api.json("POST", "/api/v1/payment/webhooks/paystack", headers, data=body, expect=200)
    assert (await api.json("GET", f"/api/v1/payment/refunds/{refund['id']}", h))["status"] == "succeeded"
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "partially_refunded"


async def test_flutterwave_webhook_is_confirmed_with_the_gateway_before_money_moves(aiohttp_client, http):
    api = await app_with(aiohttp_client, FLW_ENV)
    h = await api.user()
    order = await api.order(h, items=[("KE-TEA-500G", 2)], ship_to=None)
    http.post("https://api.flutterwave.com/v3/payments",
              payload={"status": "success", "message": "Hosted Link", "data": {"link": "https://checkout.flutterwave.com/x"}})
    payment = await api.initiate(h, order["id"], "flw-1")
    assert payment["gateway"] == "flutterwave" and payment["authorization_url"] == "https://checkout.flutterwave.com/x"
    (sent,) = captured_json(http, "POST", "/v3/payments")
    assert sent["amount"] == order["total"] // 100 and sent["tx_ref"] == payment["reference"]  # major units

    # a webhook with the right verif-hash CLAIMS success; the gateway's own answer says it failed
    claim = json.dumps({"event": "charge.completed", "data": {
        "id": 9001, "tx_ref": payment["reference"], "status": "successful", "amount": order["total"] // 100,
        "currency": "KES"}}).encode()
    await api.call("POST", "/api/v1/payment/webhooks/flutterwave", {"verif-hash": "wrong"}, data=claim, expect=401)
    http.get(re.compile(r"https://api\.flutterwave\.com/v3/transactions/verify_by_reference.*"), payload={
        "status": "success", "data": {"id": 9001, "tx_ref": payment["reference"], "status": "failed",
                                      "amount": order["total"] // 100, "currency": "KES",
                                      "processor_response": "Insufficient funds"}})
    http.get(re.compile(r"https://api\.flutterwave\.com/v3/transactions\?tx_ref=.*"), payload={"status": "success",
             "data": [{"id": 9001, "tx_ref": payment["reference"], "status": "failed"}]})
    await api.json("POST", "/api/v1/payment/webhooks/flutterwave", {"verif-hash": FLW_ENV["FLUTTERWAVE_SECRET_HASH"]},
                   data=claim, expect=200)
    after = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h)
    # no money moved; the failed attempt leaves the link open for another (issue 15), so not final
    assert after["status"] == "requires_action" and after["captured_amount"] == 0
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "pending"


async def test_flutterwave_success_is_applied_only_after_verify_agrees(aiohttp_client, http):
    api, h, order, payment = await flutterwave_payment(aiohttp_client, http, "flw-2")
    http.get(re.compile(r"https://api\.flutterwave\.com/v3/transactions/verify_by_reference.*"), payload={
        "status": "success", "data": {"id": 9002, "tx_ref": payment["reference"], "status": "successful",
                                      "amount": order["total"] // 100, "currency": "KES"}})
    claim = json.dumps({"event": "charge.completed", "data": {"id": 9002, "tx_ref": payment["reference"],
                                                              "status": "successful"}}).encode()
    await api.json("POST", "/api/v1/payment/webhooks/flutterwave", {"verif-hash": FLW_ENV["FLUTTERWAVE_SECRET_HASH"]},
                   data=claim, expect=200)
    paid = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h)
    assert paid["status"] == "succeeded" and paid["captured_amount"] == order["total"]


async def test_flutterwave_retry_on_the_same_link_pays_the_order(aiohttp_client, http):
    """A failed charge.completed, then the customer's second attempt under the same tx_ref succeeds."""
    api, h, order, payment = await flutterwave_payment(aiohttp_client, http, "flw-3")
    major, ref = order["total"] // 100, payment["reference"]
    first = {"id": 9101, "tx_ref": ref, "status": "failed", "amount": major, "currency": "KES",
             "processor_response": "Insufficient funds", "payment_type": "card"}
    second = {**first, "id": 9102, "status": "successful", "processor_response": "Approved"}
    hook = {"verif-hash": FLW_ENV["FLUTTERWAVE_SECRET_HASH"]}
    by_ref = re.compile(r"https://api\.flutterwave\.com/v3/transactions/verify_by_reference.*")
    attempts = re.compile(r"https://api\.flutterwave\.com/v3/transactions\?tx_ref=.*")

    http.get(by_ref, payload={"status": "success", "data": first})
    http.get(attempts, payload={"status": "success", "data": [first]})
    await api.json("POST", "/api/v1/payment/webhooks/flutterwave", hook,
                   data=json.dumps({"event": "charge.completed", "data": first}).encode(), expect=200)
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "requires_action"

    http.get(by_ref, payload={"status": "success", "data": first})  # verify_by_reference may show the first
    http.get(attempts, payload={"status": "success", "data": [second, first]})
    http.get("https://api.flutterwave.com/v3/transactions/9102/verify", payload={"status": "success", "data": second})
    await api.json("POST", "/api/v1/payment/webhooks/flutterwave", hook,
                   data=json.dumps({"event": "charge.completed", "data": second}).encode(), expect=200)
    paid = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h)
    assert paid["status"] == "succeeded" and paid["captured_amount"] == order["total"]
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "paid"


async def test_flutterwave_v4_webhook_with_the_secret_hash_is_accepted(aiohttp_client, http):
    api, h, order, payment = await flutterwave_payment(aiohttp_client, http, "flw-4")
    http.get(re.compile(r"https://api\.flutterwave\.com/v3/transactions/verify_by_reference.*"), payload={
        "status": "success", "data": {"id": 9201, "tx_ref": payment["reference"], "status": "successful",
                                      "amount": order["total"] // 100, "currency": "KES"}})
    v4 = {"id": "wbk_payport_1", "type": "charge.completed", "timestamp": 1767268800000,
          "data": {"id": "chg_9201", "reference": payment["reference"], "status": "succeeded", "currency": "KES",
                   "amount": order["total"] // 100}}
    body = json.dumps(v4).encode()
    await api.call("POST", "/api/v1/payment/webhooks/flutterwave", {"flutterwave-signature": "wrong"}, data=body,
                   expect=401)
    await api.json("POST", "/api/v1/payment/webhooks/flutterwave",
                   {"flutterwave-signature": FLW_ENV["FLUTTERWAVE_SECRET_HASH"]}, data=body, expect=200)
    paid = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h)
    assert paid["status"] == "succeeded" and paid["captured_amount"] == order["total"]


async def test_admin_sees_gateway_health_and_call_counts(aiohttp_client, http):
    api = await app_with(aiohttp_client, {"PAYSTACK_SECRET_KEY": PAYSTACK_KEY,
                                          "PAYPORT_BOOTSTRAP_ADMIN": "x"})  # ignored: FAST sets the admin
    tokens = await api.json("POST", "/api/v1/auth/login",
                            json={"email": "admin@example.com", "password": "admin-password-1"}, expect=200)
    admin = {"Authorization": f"Bearer {tokens['access']}"}
    h = await api.user()
    order = await api.order(h, items=[("NG-RICE-5KG", 1)], ship_to=None)
    http.post("https://api.paystack.co/transaction/initialize", status=503, payload={"status": False, "message": "down"},
              repeat=True)
    await api.initiate(h, order["id"], "k", expect=502)
    report = {g["name"]: g for g in (await api.json("GET", "/api/v1/admin/gateways", admin, expect=200))["gateways"]}
    paystack = report["paystack"]
    assert paystack["enabled"] and paystack["breaker"]["state"] in ("closed", "open")
    assert paystack["failures"] >= 1 and paystack["calls"].get("server_error", 0) >= 1
    assert paystack["mean_latency_ms"] is not None
    assert report["stripe"] == {"name": "stripe", "enabled": False,
                                "reason": "STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are required"}


async def test_a_reversed_paystack_payment_is_never_fulfilled(aiohttp_client, http):
    """Refunded or charged back before we learned of its success: canceled, the order stays pending."""
    api = await app_with(aiohttp_client, {"PAYSTACK_SECRET_KEY": PAYSTACK_KEY})
    h = await api.user()
    order = await api.order(h, items=[("NG-RICE-5KG", 1)], ship_to=None)
    http.post("https://api.paystack.co/transaction/initialize",
              payload={"status": True, "data": {"authorization_url": "https://checkout.paystack.com/r"}})
    payment = await api.initiate(h, order["id"], "ps-rev")
    http.get(re.compile(r"https://api\.paystack\.co/transaction/verify/.*"), payload={"status": True, "data": {
        "id": 5001, "reference": payment["reference"], "status": "reversed", "amount": order["total"],
        "currency": "NGN"}})
    checked = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}/check-status", h, expect=200)
    assert checked["status"] == "canceled" and checked["captured_amount"] == 0
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "pending"
    assert await ledger_rows(api, payment["id"]) == []


async def ledger_rows(api: Api, payment_id: str) -> list:
    async with api.services.maintenance.uow() as uow:
        return await uow.ledger.for_payment(payment_id)


async def test_a_lost_stripe_create_is_settled_by_the_session_id_on_the_success_redirect(aiohttp_client, http):
    """The create's answer was lost (no cs_ id held); Stripe's success redirect names the session
    (``{CHECKOUT_SESSION_ID}``): payport asks Stripe with it and the order is paid at once, without
    waiting for the worker's replay (issue 15). A session of another reference is refused."""
    api = await app_with(aiohttp_client, STRIPE_ENV)
    h = await api.user()
    order = await api.order(h, items=[("US-HEADPHONES", 1)], ship_to="US")
    http.post("https://api.stripe.com/v1/checkout/sessions", exception=asyncio.TimeoutError())
    payment = await api.initiate(h, order["id"], "st-lost-1")
    assert (payment["gateway"], payment["status"], payment["gateway_reference"]) == ("stripe", "processing", None)
    (sent,) = [call.kwargs["data"] for (m, url), calls in http.requests.items()
               if m == "POST" and url.path == "/v1/checkout/sessions" for call in calls]
    assert sent["success_url"].endswith("&session_id={CHECKOUT_SESSION_ID}")

    def session(session_id: str, reference: str) -> dict:  # GET /v1/checkout/sessions/{id}, expanded
        return {"id": session_id, "object": "checkout.session", "status": "complete", "payment_status": "paid",
                "client_reference_id": reference, "amount_total": order["total"], "currency": "usd",
                "metadata": {"reference": reference},
                "payment_intent": {"id": "pi_lost1", "object": "payment_intent", "status": "succeeded",
                                   "payment_method": {"id": "pm_1", "type": "card"}}}
    callback = f"/api/v1/payment/payments/callback?reference={payment['reference']}&session_id="
    http.get(re.compile(r"https://api\.stripe\.com/v1/checkout/sessions/cs_test_other(\?.*)?$"),
             payload=session("cs_test_other", "pay_someone_else"))
    refused, _ = await api.call("GET", callback + "cs_test_other", h)  # another payment's session
    assert refused.status == 502  # the gateway answered for another payment: refused, nothing moves
    held = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h)
    assert (held["status"], held["captured_amount"], held["gateway_reference"]) == ("processing", 0, None)

    http.get(re.compile(r"https://api\.stripe\.com/v1/checkout/sessions/cs_test_lost1(\?.*)?$"),
             payload=session("cs_test_lost1", payment["reference"]))
    paid = await api.json("GET", callback + "cs_test_lost1", h, expect=200)
    assert (paid["status"], paid["captured_amount"], paid["gateway_reference"]) == (
        "succeeded", order["total"], "cs_test_lost1")
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "paid"


async def test_a_paystack_refund_needing_the_customers_account_is_surfaced_and_retried_by_an_admin(
        aiohttp_client, http, caplog):
    """refund.needs-attention (the one Paystack refund event that names the refund): flagged for the
    admins with the retry call; an admin sends the customer's account with
    ``POST /refund/retry_with_customer_details/{id}``; the documented refund.processed (no id)
    then settles it by lookup. The account number reaches no log."""
    api = await app_with(aiohttp_client, {"PAYSTACK_SECRET_KEY": PAYSTACK_KEY})
    tokens = await api.json("POST", "/api/v1/auth/login", expect=200,
                            json={"email": "admin@example.com", "password": "admin-password-1"})
    admin = {"Authorization": f"Bearer {tokens['access']}"}
    h = await api.user()
    order = await api.order(h, items=[("NG-RICE-5KG", 1)], ship_to=None)
    http.post("https://api.paystack.co/transaction/initialize",
              payload={"status": True, "data": {"authorization_url": "https://checkout.paystack.com/na"}})
    payment = await api.initiate(h, order["id"], "ps-na")
    headers, body = paystack_signed({"event": "charge.success", "data": {
        "id": 4200, "reference": payment["reference"], "status": "success", "amount": order["total"],
        "currency": "NGN"}})
    await api.json("POST", "/api/v1/payment/webhooks/paystack", headers, data=body, expect=200)
    http.post("https://api.paystack.co/refund", payload={"status": True, "message": "Refund has been queued for processing",
                                                        "data": {"id": 1234567, "status": "pending", "amount": 100_000,
                                                                 "currency": "NGN"}})
    refund = await api.refund(h, payment["id"], "ps-na-r", amount=100_000)
    retry = f"/api/v1/admin/refunds/{refund['id']}/retry-with-customer-details"
    account = {"account_number": "0123456789", "bank_id": "9"}
    await api.call("POST", retry, admin, json=account, expect=409)  # nothing asks for it yet

    stuck = paystack_refund_event("refund.needs-attention", payment["reference"], 100_000)
    stuck["data"]["id"] = 1234567
    headers, body = paystack_signed(stuck)
    await api.json("POST", "/api/v1/payment/webhooks/paystack", headers, data=body, expect=200)
    (listed,) = (await api.json("GET", "/api/v1/admin/refunds?needs_attention=true", admin, expect=200))["results"]
    assert (listed["id"], listed["status"], listed["needs_attention"]) == (refund["id"], "processing", True)
    assert "retry_with_customer_details/1234567" in listed["attention"]

    await api.call("POST", retry, h, json=account, expect=403)  # admins only
    await api.call("POST", retry, admin, json={**account, "account_number": "12ab"}, expect=422)
    assert not [c for (m, url), c in http.requests.items() if "retry_with_customer_details" in url.path]
    http.post("https://api.paystack.co/refund/retry_with_customer_details/1234567", payload={
        "status": True, "message": "Refund retried and has been queued for processing",
        "data": {"id": 1234567, "transaction": 4200, "domain": "test", "currency": "NGN", "amount": 100_000,
                 "status": "processing", "merchant_note": "Refund for transaction by ops@example.com"}})
    retried = await api.json("POST", retry, admin, json=account, expect=200)
    assert (retried["status"], retried["needs_attention"]) == ("processing", True)
    assert "account details were sent" in retried["attention"]
    assert captured_json(http, "POST", "retry_with_customer_details/1234567") == [
        {"refund_account_details": {"currency": "NGN", "account_number": "0123456789", "bank_id": "9"}}]

    http.get(re.compile(r"https://api\.paystack\.co/refund.*"), repeat=True, payload={"status": True, "data": {
        "id": 1234567, "status": "processed", "amount": 100_000, "currency": "NGN", "transaction": 4200,
        "merchant_note": "Refund for transaction by ops@example.com"}})
    headers, body = paystack_signed(paystack_refund_event("refund.processed", payment["reference"], 100_000))
    await api.json("POST", "/api/v1/payment/webhooks/paystack", headers, data=body, expect=200)
    assert (await api.json("GET", f"/api/v1/payment/refunds/{refund['id']}", h))["status"] == "succeeded"
    assert "0123456789" not in caplog.text
