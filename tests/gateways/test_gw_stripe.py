"""Stripe adapter over aioresponses: exact form bodies, idempotency keys, signatures, errors."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re

import aiohttp
import pytest
from gateway_test_support import (connect_refused, only, payment, refund_request, reserialized,
                                  sent)

from adapters.gateways.config import StripeSettings
from adapters.gateways.stripe import StripeGateway
from application.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from domain.payments import PaymentStatus, RefundStatus

API = "https://api.stripe.com"
SECRET = "whsec_test_x"
SESSION_URL = re.compile(r"^https://api\.stripe\.com/v1/checkout/sessions/cs_test_1(\?.*)?$")
REFUND_LIST = re.compile(r"^https://api\.stripe\.com/v1/refunds\?.*$")


@pytest.fixture
def stripe(session, clock, metrics):
    settings = StripeSettings(secret_key="sk_test_x", webhook_secret=SECRET)
    return StripeGateway(session, settings, metrics=metrics, clock=clock)


def signed(body: bytes, ts: int, secret: str = SECRET) -> dict[str, str]:
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={ts},v1={mac}"}


def event(kind: str, obj: dict, evt: str = "evt_1") -> bytes:
    return json.dumps({"id": evt, "type": kind, "data": {"object": obj}}).encode()


def refund_list(*refunds: dict, has_more: bool = False) -> dict:
    return {"object": "list", "url": "/v1/refunds", "has_more": has_more, "data": list(refunds)}


def refund_obj(status="succeeded", refund_id="rf_001", gateway_id="re_1", amount=1000, **kw) -> dict:
    return {"id": gateway_id, "object": "refund", "amount": amount, "currency": "usd", "status": status,
            "payment_intent": "pi_1", "charge": "ch_1", "failure_reason": None,
            "metadata": {"refund_id": refund_id, "reference": "pay_ref_001"} if refund_id else {}, **kw}


def session_obj(status="complete", payment_status="paid", **kw) -> dict:
    return {"id": "cs_test_1", "object": "checkout.session", "status": status,
            "payment_status": payment_status, "client_reference_id": "pay_ref_001",
            "amount_total": 2550, "currency": "usd", "payment_intent": "pi_1",
            "metadata": {"reference": "pay_ref_001"}, **kw}


async def test_whole_flow_initialize_webhook_verify_refund(stripe, http, clock):
    http.post(f"{API}/v1/checkout/sessions", payload={
        "id": "cs_test_1", "url": "https://checkout.stripe.com/c/pay/cs_test_1",
        "status": "open", "payment_status": "unpaid"})
    init = await stripe.initialize_payment(payment(amount=2550, currency="USD",
                                                   metadata={"order_id": "ord_1"}))
    assert (init.status, init.gateway_reference) == (PaymentStatus.REQUIRES_ACTION, "cs_test_1")
    assert init.authorization_url == "https://checkout.stripe.com/c/pay/cs_test_1"
    call = only(http, "POST", "/v1/checkout/sessions")
    assert call["headers"]["Authorization"] == "Bearer sk_test_x"
    assert call["headers"]["Idempotency-Key"] == "pay_ref_001"
    assert call["headers"]["Stripe-Version"] == "2024-06-20"
    assert "Content-Type" not in call["headers"] and call.get("json") is None  # form, not JSON
    assert call["data"] == {
        "mode": "payment", "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "2550",
        "line_items[0][price_data][product_data][name]": "Order PP-1",
        "success_url": "https://shop.example/cb?reference=pay_ref_001&session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/cb?reference=pay_ref_001&status=cancelled",
        "client_reference_id": "pay_ref_001", "metadata[reference]": "pay_ref_001",
        "metadata[order_id]": "ord_1", "payment_intent_data[metadata][reference]": "pay_ref_001",
        "customer_email": "ada@example.com"}

    body = event("checkout.session.completed", session_obj())
    ts = int(clock.now().timestamp())
    assert stripe.verify_webhook_signature(signed(body, ts), body, {})
    evt = stripe.parse_webhook_event({}, body, {})
    assert (evt.event_id, evt.reference, evt.gateway_reference) == ("evt_1", "pay_ref_001", "cs_test_1")
    assert (evt.status, evt.amount, evt.currency) == (PaymentStatus.SUCCEEDED, 2550, "USD")

    http.get(SESSION_URL, payload=session_obj(payment_intent={"id": "pi_1", "status": "succeeded"}))
    verified = await stripe.verify_payment("pay_ref_001", "cs_test_1")
    assert (verified.status, verified.amount, verified.currency) == (PaymentStatus.SUCCEEDED, 2550, "USD")
    assert only(http, "GET", "/v1/checkout/sessions/cs_test_1")["params"] == [
        ("expand[]", "payment_intent"), ("expand[]", "payment_intent.payment_method")]

    http.get(SESSION_URL, payload=session_obj())
    http.get(REFUND_LIST, payload=refund_list())  # no refund carries our id yet
    http.post(f"{API}/v1/refunds", payload={"id": "re_1", "status": "succeeded", "amount": 1000})
    outcome = await stripe.refund(refund_request("cs_test_1", amount=1000, currency="USD"))
    assert (outcome.status, outcome.gateway_refund_id) == (RefundStatus.SUCCEEDED, "re_1")
    call = only(http, "POST", "/v1/refunds")
    assert call["headers"]["Idempotency-Key"] == "rf_001"
    assert call["data"] == {"payment_intent": "pi_1", "amount": "1000", "reason": "requested_by_customer",
                            "metadata[refund_id]": "rf_001", "metadata[reference]": "pay_ref_001"}


async def test_zero_decimal_currency_sent_in_whole_units(stripe, http):
    stripe.currencies = frozenset({"JPY"})
    http.post(f"{API}/v1/checkout/sessions", payload={"id": "cs_test_2", "url": "https://x", "status": "open",
                                                      "payment_status": "unpaid"})
    await stripe.initialize_payment(payment(amount=500, currency="JPY"))
    assert only(http, "POST", "/v1/checkout/sessions")["data"]["line_items[0][price_data][unit_amount]"] == "500"


async def test_declines_and_non_final_states(stripe, http):
    failed = session_obj(payment_status="unpaid", payment_intent={
        "id": "pi_1", "status": "requires_payment_method", "last_payment_error": {"message": "Your card was declined."}})
    http.get(SESSION_URL, payload=failed)
    v = await stripe.verify_payment("pay_ref_001", "cs_test_1")
    assert (v.status, v.error) == (PaymentStatus.FAILED, "Your card was declined.")
    http.get(SESSION_URL, payload=session_obj(status="open", payment_status="unpaid", payment_intent=None))
    assert (await stripe.verify_payment("pay_ref_001", "cs_test_1")).status is PaymentStatus.REQUIRES_ACTION
    http.get(SESSION_URL, payload=session_obj(status="expired", payment_status="unpaid"))
    assert (await stripe.verify_payment("pay_ref_001", "cs_test_1")).status is PaymentStatus.CANCELED
    assert stripe.parse_webhook_event({}, event("checkout.session.async_payment_failed",
                                                session_obj(payment_status="unpaid")), {}).status is PaymentStatus.FAILED
    pi = {"id": "pi_1", "amount": 2550, "currency": "usd", "metadata": {"reference": "pay_ref_001"}}
    retryable_decline = stripe.parse_webhook_event({}, event("payment_intent.payment_failed", pi), {})
    assert (retryable_decline.status, retryable_decline.reference) == (PaymentStatus.REQUIRES_ACTION, "pay_ref_001")
    assert stripe.parse_webhook_event({}, event("payment_intent.succeeded", pi), {}).status is PaymentStatus.SUCCEEDED


async def test_verify_refuses_session_of_another_reference(stripe, http):
    http.get(SESSION_URL, payload=session_obj(client_reference_id="someone_else"))
    with pytest.raises(GatewayError):
        await stripe.verify_payment("pay_ref_001", "cs_test_1")


def test_refund_events_carry_our_refund_id(stripe):
    refund = {"id": "re_1", "object": "refund", "status": "succeeded", "amount": 1000, "currency": "usd",
              "payment_intent": "pi_1", "metadata": {"refund_id": "rf_001", "reference": "pay_ref_001"}}
    evt = stripe.parse_webhook_event({}, event("refund.updated", refund, "evt_9"), {})
    assert (evt.refund_status, evt.refund_id, evt.gateway_refund_id) == (RefundStatus.SUCCEEDED, "rf_001", "re_1")
    assert (evt.reference, evt.amount, evt.status) == ("pay_ref_001", 1000, None)
    charge = {"id": "ch_1", "currency": "usd", "amount_refunded": 1000, "refunds": {"data": [refund]}}
    assert stripe.parse_webhook_event({}, event("charge.refunded", charge), {}).refund_id == "rf_001"
    with pytest.raises(ValueError):
        stripe.parse_webhook_event({}, b"not json", {})


def test_signature_rejections(stripe, clock):
    body = event("checkout.session.completed", session_obj())
    now = int(clock.now().timestamp())
    ok = signed(body, now)
    assert stripe.verify_webhook_signature(ok, body, {})
    assert stripe.verify_webhook_signature({"stripe-signature": ok["Stripe-Signature"]}, body, {})
    assert not stripe.verify_webhook_signature(signed(body, now, "whsec_forged"), body, {})
    assert not stripe.verify_webhook_signature(ok, body.replace(b"2550", b"1"), {})
    assert not stripe.verify_webhook_signature(ok, reserialized(body), {})
    assert not stripe.verify_webhook_signature({}, body, {})
    assert not stripe.verify_webhook_signature({"Stripe-Signature": "garbage"}, body, {})
    assert stripe.verify_webhook_signature(signed(body, now - 300), body, {})
    assert not stripe.verify_webhook_signature(signed(body, now - 301), body, {})
    clock.advance(301)
    assert not stripe.verify_webhook_signature(ok, body, {})


def test_any_v1_signature_may_match_and_other_schemes_are_ignored(stripe, clock):
    body = event("checkout.session.completed", session_obj())
    ts = int(clock.now().timestamp())
    good = signed(body, ts)["Stripe-Signature"].split("v1=")[1]
    assert stripe.verify_webhook_signature({"Stripe-Signature": f"t={ts},v1={'0' * 64},v1={good}"}, body, {})
    assert not stripe.verify_webhook_signature({"Stripe-Signature": f"t={ts},v0={good}"}, body, {})


async def test_error_mapping(stripe, http, metrics):
    url = f"{API}/v1/checkout/sessions"
    http.post(url, status=402, payload={"error": {"type": "card_error", "code": "card_declined",
                                                  "message": "Your card was declined. Key sk_test_x"}})
    with pytest.raises(GatewayError) as err:
        await stripe.initialize_payment(payment(currency="USD"))
    assert not err.value.retryable and "Your card was declined" in err.value.message
    assert "sk_test_x" not in str(err.value) and err.value.details["provider_code"] == "card_declined"

    http.post(url, status=429, headers={"Retry-After": "7"}, payload={"error": {"message": "Too many"}})
    with pytest.raises(GatewayError) as err:
        await stripe.initialize_payment(payment(currency="USD"))
    assert err.value.retryable and err.value.retry_after == 7.0

    http.post(url, status=500, payload={"error": {"type": "api_error", "message": "boom"}})
    with pytest.raises(GatewayError) as err:
        await stripe.initialize_payment(payment(currency="USD"))
    assert err.value.retryable and err.value.retry_after is None

    http.post(url, exception=asyncio.TimeoutError())
    with pytest.raises(GatewayTimeout):
        await stripe.initialize_payment(payment(currency="USD"))
    http.post(url, exception=aiohttp.ServerDisconnectedError())
    with pytest.raises(GatewayTimeout):
        await stripe.initialize_payment(payment(currency="USD"))
    http.post(url, exception=connect_refused())
    with pytest.raises(GatewayUnavailable) as err:
        await stripe.initialize_payment(payment(currency="USD"))
    assert err.value.retryable
    http.post(url, exception=aiohttp.ConnectionTimeoutError())
    with pytest.raises(GatewayUnavailable):
        await stripe.initialize_payment(payment(currency="USD"))
    assert len(sent(http, "POST", "/v1/checkout/sessions")) == 7
    sample = metrics.registry.get_sample_value
    labels = {"gateway": "stripe", "operation": "initialize"}
    assert sample("payport_gateway_calls_total", {**labels, "outcome": "client_error"}) == 1
    assert sample("payport_gateway_calls_total", {**labels, "outcome": "rate_limited"}) == 1
    assert sample("payport_gateway_calls_total", {**labels, "outcome": "timeout"}) == 2
    assert sample("payport_gateway_calls_total", {**labels, "outcome": "unavailable"}) == 2
    assert sample("payport_gateway_call_seconds_count", labels) == 7


async def test_every_call_has_an_explicit_timeout(stripe, http):
    http.get(SESSION_URL, payload=session_obj())
    await stripe.verify_payment("pay_ref_001", "cs_test_1")
    timeout = only(http, "GET", "/v1/checkout/sessions/cs_test_1")["timeout"]
    assert (timeout.total, timeout.connect) == (30.0, 5.0)


def test_settings_repr_hides_secrets():
    settings = StripeSettings(secret_key="sk_test_x", webhook_secret=SECRET)
    assert "sk_test_x" not in repr(settings) and SECRET not in repr(settings)
    assert "sk_test_x" not in str(settings.describe()) and settings.describe()["secret_key_set"]
