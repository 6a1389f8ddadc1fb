"""Flutterwave v3 adapter: major-unit amounts, query-before-retry on 503/timeout, weak webhooks."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random

import pytest
from gateway_test_support import json_sent, only, payment, refund_request, reserialized, sent

from adapters.gateways.config import FlutterwaveSettings
from adapters.gateways.flutterwave import FlutterwaveGateway
from adapters.gateways.resilience import CircuitBreaker, ResilientGateway, RetryPolicy
from application.errors import GatewayError, GatewayTimeout
from domain.payments import PaymentStatus, RefundStatus

API = "https://api.flutterwave.com"
HASH = "flw_test_hash_x"
BY_REF = f"{API}/v3/transactions/verify_by_reference?tx_ref=pay_ref_001"
ATTEMPTS = f"{API}/v3/transactions?tx_ref=pay_ref_001"
NOT_FOUND = {"status": "error", "message": "No transaction was found for this id", "data": None}


@pytest.fixture
def flw(session, clock):
    return FlutterwaveGateway(session, FlutterwaveSettings(secret_key="FLWSECK_TEST-x", secret_hash=HASH),
                              clock=clock)


def txn(status: str = "successful", amount=1500.5, tx_ref: str = "pay_ref_001") -> dict:
    return {"id": 288200108, "tx_ref": tx_ref, "flw_ref": "FLW-1", "amount": amount, "charged_amount": amount,
            "currency": "NGN", "status": status, "processor_response": "Declined" if status == "failed" else "ok"}


async def test_whole_flow_initialize_webhook_verify_refund(flw, http):
    http.post(f"{API}/v3/payments", payload={"status": "success", "message": "Hosted Link",
                                             "data": {"link": "https://checkout.flutterwave.com/v3/hosted/pay/x"}})
    init = await flw.initialize_payment(payment(phone="+2348000000000"))
    assert (init.status, init.authorization_url) == (PaymentStatus.REQUIRES_ACTION,
                                                     "https://checkout.flutterwave.com/v3/hosted/pay/x")
    call = only(http, "POST", "/v3/payments")
    assert call["headers"]["Authorization"] == "Bearer FLWSECK_TEST-x"
    assert b'"amount":1500.5' in call["data"]  # major units, exact
    assert json_sent(call) == {
        "tx_ref": "pay_ref_001", "amount": 1500.5, "currency": "NGN", "redirect_url": "https://shop.example/cb",
        "customer": {"email": "ada@example.com", "phonenumber": "+2348000000000"},
        "customizations": {"description": "Order PP-1"}, "meta": {"reference": "pay_ref_001"}}

    body = json.dumps({"event": "charge.completed", "data": txn()}).encode()
    assert flw.verify_webhook_signature({"verif-hash": HASH}, body, {})
    evt = flw.parse_webhook_event({}, body, {})
    assert evt.needs_confirmation and flw.weak_webhook_auth
    assert (evt.reference, evt.gateway_reference, evt.status, evt.amount) == (
        "pay_ref_001", "288200108", PaymentStatus.SUCCEEDED, 150050)

    http.get(f"{API}/v3/transactions/288200108/verify", payload={"status": "success", "data": txn()})
    v = await flw.verify_payment("pay_ref_001", "288200108")
    assert (v.status, v.amount, v.currency, v.gateway_reference) == (PaymentStatus.SUCCEEDED, 150050, "NGN", "288200108")

    http.post(f"{API}/v3/transactions/288200108/refund", payload={
        "status": "success", "message": "Transaction refund initiated",
        "data": {"id": 75923, "tx_id": 288200108, "amount_refunded": 50, "status": "completed"}})
    out = await flw.refund(refund_request("288200108", amount=5000))
    assert (out.status, out.gateway_refund_id) == (RefundStatus.SUCCEEDED, "75923")
    assert json_sent(only(http, "POST", "/v3/transactions/288200108/refund")) == {
        "amount": 50, "comments": "requested_by_customer (rf_001)"}


async def test_decline_and_verify_by_reference(flw, http):
    """A declined attempt leaves the link open for another (max_retry_attempt): not final."""
    http.get(BY_REF, payload={"status": "success", "data": txn("failed")})
    http.get(ATTEMPTS, payload={"status": "success", "data": [txn("failed")]})
    v = await flw.verify_payment("pay_ref_001", None)
    assert (v.status, v.raw_status) == (PaymentStatus.REQUIRES_ACTION, "failed") and "Declined" in v.error
    http.get(BY_REF, payload={"status": "success", "data": txn("weird-new-status")})
    http.get(ATTEMPTS, payload={"status": "success", "data": []})
    assert (await flw.verify_payment("pay_ref_001", None)).status is PaymentStatus.PROCESSING


async def test_verify_by_id_refuses_another_tx_ref(flw, http):
    http.get(f"{API}/v3/transactions/1/verify", payload={"status": "success", "data": txn(tx_ref="other")})
    with pytest.raises(GatewayError, match="tx_ref"):
        await flw.verify_payment("pay_ref_001", "1")


async def test_zero_decimal_amount_is_whole(flw, http):
    http.post(f"{API}/v3/payments", payload={"status": "success", "data": {"link": "https://x"}})
    await flw.initialize_payment(payment(amount=25000, currency="UGX"))
    assert json_sent(only(http, "POST", "/v3/payments"))["amount"] == 25000


async def test_503_on_create_queries_by_tx_ref_then_retries(flw, http):
    http.post(f"{API}/v3/payments", status=503, payload={"status": "error", "message": "timeout"})
    http.get(BY_REF, status=400, payload=NOT_FOUND)
    http.post(f"{API}/v3/payments", payload={"status": "success", "data": {"link": "https://x"}})
    sleeps: list[float] = []

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)

    gw = ResilientGateway(flw, CircuitBreaker("flutterwave"),
                          RetryPolicy(sleep=fake_sleep, rng=random.Random(1)))
    init = await gw.initialize_payment(payment())
    assert init.authorization_url == "https://x" and len(sleeps) == 1
    order = [(m, u.path) for (m, u) in http.requests]
    assert order == [("POST", "/v3/payments"), ("GET", "/v3/transactions/verify_by_reference")]
    assert len(sent(http, "POST", "/v3/payments")) == 2


async def test_503_on_create_finding_the_transaction_does_not_create_again(flw, http):
    http.post(f"{API}/v3/payments", status=503, payload={"status": "error", "message": "timeout"})
    http.get(BY_REF, payload={"status": "success", "data": txn("pending")})
    init = await flw.initialize_payment(payment())
    assert (init.status, init.gateway_reference) == (PaymentStatus.PROCESSING, "288200108")
    assert len(sent(http, "POST", "/v3/payments")) == 1


async def test_timeout_on_create_queries_and_otherwise_stays_unknown(flw, http):
    http.post(f"{API}/v3/payments", exception=asyncio.TimeoutError())
    http.get(BY_REF, status=400, payload=NOT_FOUND)
    with pytest.raises(GatewayTimeout):
        await flw.initialize_payment(payment())
    assert len(sent(http, "GET", "/v3/transactions/verify_by_reference")) == 1


def test_legacy_flat_webhook_shape(flw):
    body = json.dumps({"id": 288200108, "txRef": "pay_ref_001", "flwRef": "FLW-1", "amount": 1500.5,
                       "status": "successful", "currency": "NGN", "event.type": "CARD_TRANSACTION"}).encode()
    evt = flw.parse_webhook_event({}, body, {})
    assert (evt.type, evt.reference, evt.status, evt.amount, evt.needs_confirmation) == (
        "CARD_TRANSACTION", "pay_ref_001", PaymentStatus.SUCCEEDED, 150050, True)
    v3 = json.dumps({"event": "charge.completed", "data": txn()}).encode()
    assert flw.parse_webhook_event({}, v3, {}).event_id == flw.parse_webhook_event({}, reserialized(v3), {}).event_id
    failed = json.dumps({"event": "charge.completed", "data": txn("failed")}).encode()
    assert flw.parse_webhook_event({}, failed, {}).event_id != flw.parse_webhook_event({}, v3, {}).event_id
    with pytest.raises(ValueError):
        flw.parse_webhook_event({}, b"[]", {})


def test_verif_hash_rejections(session):
    flw = FlutterwaveGateway(session, FlutterwaveSettings(secret_key="FLWSECK_TEST-x", secret_hash=HASH,
                                                          accept_hmac_signature=False))
    body = json.dumps({"event": "charge.completed", "data": txn()}).encode()
    assert flw.verify_webhook_signature({"Verif-Hash": HASH}, body, {})
    assert not flw.verify_webhook_signature({"verif-hash": "forged"}, body, {})
    assert not flw.verify_webhook_signature({}, body, {})
    assert not flw.verify_webhook_signature({"verif-hash": ""}, body, {})
    mac = base64.b64encode(hmac.new(HASH.encode(), body, hashlib.sha256).digest()).decode()
    assert not flw.verify_webhook_signature({"flutterwave-signature": mac}, body, {})  # flag off


def test_hmac_signature_mode_behind_flag(session):
    flw = FlutterwaveGateway(session, FlutterwaveSettings(secret_key="FLWSECK_TEST-x", secret_hash=HASH,
                                                          accept_hmac_signature=True))
    body = json.dumps({"event": "charge.completed", "data": txn()}).encode()
    mac = base64.b64encode(hmac.new(HASH.encode(), body, hashlib.sha256).digest()).decode()
    assert flw.verify_webhook_signature({"flutterwave-signature": mac}, body, {})
    assert not flw.verify_webhook_signature({"flutterwave-signature": mac}, body.replace(b"1500.5", b"1"), {})
    assert not flw.verify_webhook_signature({"flutterwave-signature": mac}, reserialized(body), {})
    forged = base64.b64encode(hmac.new(b"forged", body, hashlib.sha256).digest()).decode()
    assert not flw.verify_webhook_signature({"flutterwave-signature": forged}, body, {})
