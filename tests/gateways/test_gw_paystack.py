"""Paystack adapter over aioresponses: subunit amounts, duplicate references, SHA-512 webhooks."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import pytest
from gateway_test_support import json_sent, only, payment, refund_request, reserialized, sent

from adapters.gateways.config import PaystackSettings
from adapters.gateways.paystack import PaystackGateway
from application.errors import GatewayError, GatewayTimeout
from domain.payments import PaymentStatus, RefundStatus

API = "https://api.paystack.co"
KEY = "sk_test_x"
VERIFY = f"{API}/transaction/verify/pay_ref_001"


@pytest.fixture
def paystack(session, clock):
    return PaystackGateway(session, PaystackSettings(secret_key=KEY), clock=clock)


def sign(body: bytes, key: str = KEY) -> dict[str, str]:
    return {"x-paystack-signature": hmac.new(key.encode(), body, hashlib.sha512).hexdigest()}


def tx(status: str, amount: int = 150050, **kw) -> dict:
    return {"status": True, "message": "Verification successful", "data": {
        "id": 4099260516, "status": status, "reference": "pay_ref_001", "amount": amount,
        "currency": "NGN", "gateway_response": "Approved" if status == "success" else "Declined", **kw}}


def refund_event(kind: str, status: str, amount="5000", refund_reference=None, **kw) -> dict:
    """The documented refund webhook (PaystackOSS/doc-code-snippets dist/doc/payments/refunds/events.js)."""
    return {"event": kind, "data": {
        "status": status, "transaction_reference": "pay_ref_001", "refund_reference": refund_reference,
        "amount": amount, "currency": "NGN", "processor": "instant-transfer",
        "customer": {"first_name": "Ada", "last_name": "L", "email": "ada@example.com"},
        "integration": 412829, "domain": "test", **kw}}


async def test_whole_flow_initialize_webhook_verify_refund(paystack, http):
    http.post(f"{API}/transaction/initialize", payload={"status": True, "message": "Authorization URL created",
              "data": {"authorization_url": "https://checkout.paystack.com/acc_1", "access_code": "acc_1",
                       "reference": "pay_ref_001"}})
    init = await paystack.initialize_payment(payment(metadata={"order_id": "ord_1"}))
    assert (init.status, init.authorization_url) == (PaymentStatus.REQUIRES_ACTION,
                                                     "https://checkout.paystack.com/acc_1")
    call = only(http, "POST", "/transaction/initialize")
    assert call["headers"]["Authorization"] == "Bearer sk_test_x"
    assert json_sent(call) == {"email": "ada@example.com", "amount": 150050, "currency": "NGN",
                               "reference": "pay_ref_001", "callback_url": "https://shop.example/cb",
                               "metadata": {"order_id": "ord_1", "reference": "pay_ref_001"}}

    body = json.dumps({"event": "charge.success", "data": tx("success")["data"]}).encode()
    assert paystack.verify_webhook_signature(sign(body), body, {})
    evt = paystack.parse_webhook_event({}, body, {})
    assert (evt.type, evt.reference, evt.status) == ("charge.success", "pay_ref_001", PaymentStatus.SUCCEEDED)
    assert (evt.amount, evt.currency, evt.gateway_reference) == (150050, "NGN", "4099260516")
    assert evt.event_id == paystack.parse_webhook_event({}, reserialized(body), {}).event_id
    assert not evt.needs_confirmation

    http.get(VERIFY, payload=tx("success"))
    v = await paystack.verify_payment("pay_ref_001", None)
    assert (v.status, v.amount, v.currency, v.gateway_reference) == (
        PaymentStatus.SUCCEEDED, 150050, "NGN", "4099260516")

    http.post(f"{API}/refund", payload={"status": True, "message": "Refund has been queued for processing",
                                        "data": {"id": 3018284, "status": "pending", "amount": 5000}})
    out = await paystack.refund(refund_request("4099260516"))
    assert (out.status, out.gateway_refund_id) == (RefundStatus.PROCESSING, "3018284")
    assert json_sent(only(http, "POST", "/refund")) == {
        "transaction": "4099260516", "amount": 5000, "currency": "NGN",
        "merchant_note": "rf_001: requested_by_customer"}

    # the documented refund.processed payload: no refund id, no merchant_note (PaystackOSS events.js)
    refund_evt = json.dumps(refund_event("refund.processed", "processed", refund_reference="132013318360")).encode()
    evt = paystack.parse_webhook_event({}, refund_evt, {})
    assert (evt.refund_status, evt.reference, evt.amount, evt.currency) == (
        RefundStatus.SUCCEEDED, "pay_ref_001", 5000, "NGN")
    assert (evt.gateway_refund_id, evt.refund_id, evt.refund_lookup) == (None, None, True)


@pytest.mark.parametrize(("raw", "status"), [
    ("abandoned", PaymentStatus.REQUIRES_ACTION), ("ongoing", PaymentStatus.REQUIRES_ACTION),
    ("pending", PaymentStatus.PROCESSING), ("queued", PaymentStatus.PROCESSING),
    ("failed", PaymentStatus.FAILED), ("success", PaymentStatus.SUCCEEDED),
    ("reversed", PaymentStatus.CANCELED), ("brand_new_status", PaymentStatus.PROCESSING)])
async def test_status_table(paystack, http, raw, status):
    http.get(VERIFY, payload=tx(raw))
    v = await paystack.verify_payment("pay_ref_001", None)
    assert (v.status, v.raw_status) == (status, raw)
    if raw == "failed":
        assert v.error == "Declined"
    if raw == "reversed":
        assert "reversed" in v.error  # why it was canceled, kept on the intent


async def test_duplicate_reference_is_already_initialized_never_a_second_charge(paystack, http):
    http.post(f"{API}/transaction/initialize", status=400,
              payload={"status": False, "message": "Duplicate Transaction Reference"})
    http.get(VERIFY, payload=tx("abandoned"))
    init = await paystack.initialize_payment(payment())
    assert (init.status, init.gateway_reference) == (PaymentStatus.REQUIRES_ACTION, "4099260516")
    assert len(sent(http, "POST", "/transaction/initialize")) == 1

    http.post(f"{API}/transaction/initialize", status=400,
              payload={"status": False, "message": "Duplicate Transaction Reference"})
    http.get(VERIFY, payload=tx("abandoned", amount=999))
    with pytest.raises(GatewayError, match="different amount"):
        await paystack.initialize_payment(payment())


async def test_errors(paystack, http):
    url = f"{API}/transaction/initialize"
    http.post(url, status=401, payload={"status": False, "message": f"Invalid key {KEY}"})
    with pytest.raises(GatewayError) as err:
        await paystack.initialize_payment(payment())
    assert not err.value.retryable and KEY not in str(err.value) and "Invalid key" in str(err.value)
    http.post(url, status=503, headers={"Retry-After": "3"}, body="Service Unavailable")
    with pytest.raises(GatewayError) as err:
        await paystack.initialize_payment(payment())
    assert err.value.retryable and err.value.retry_after == 3
    http.post(url, exception=asyncio.TimeoutError())
    with pytest.raises(GatewayTimeout):
        await paystack.initialize_payment(payment())
    with pytest.raises(GatewayError, match="email"):
        await paystack.initialize_payment(payment(email=None))


def test_signature_rejections(paystack):
    body = json.dumps({"event": "charge.success", "data": tx("success")["data"]}).encode()
    assert paystack.verify_webhook_signature({"X-Paystack-Signature": sign(body)["x-paystack-signature"]}, body, {})
    assert not paystack.verify_webhook_signature(sign(body, "sk_test_forged"), body, {})
    assert not paystack.verify_webhook_signature(sign(body), body.replace(b"150050", b"1"), {})
    assert not paystack.verify_webhook_signature(sign(body), reserialized(body), {})
    assert not paystack.verify_webhook_signature({}, body, {})
    assert not paystack.verify_webhook_signature({"x-paystack-signature": ""}, body, {})
    with pytest.raises(ValueError):
        paystack.parse_webhook_event({}, b'{"event": "charge.success"}', {})
