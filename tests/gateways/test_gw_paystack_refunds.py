"""Paystack as documented (issue 15): refund webhooks without a refund id, refunds followed by
GET /refund/{id} or by our id in merchant_note, needs-attention, "not found", and currencies
whose subunit is unconfirmed."""
from __future__ import annotations

import json
import re

import pytest
from gateway_test_support import json_sent, only, payment, refund_request, reserialized, sent
from test_gw_paystack import API, KEY, VERIFY, refund_event, tx

from adapters.gateways.config import PaystackSettings, gateway_settings_from_env
from adapters.gateways.paystack import PaystackGateway, refund_id_from_note
from application.errors import GatewayError
from application.ports.gateways import RefundLookup
from domain.payments import PaymentStatus, RefundStatus

REFUND_LIST = re.compile(r"^https://api\.paystack\.co/refund\?.*$")


@pytest.fixture
def paystack(session, clock):
    return PaystackGateway(session, PaystackSettings(secret_key=KEY), clock=clock)


def refund_obj(status="processed", refund_id=3018284, note="rf_001: requested_by_customer", **kw) -> dict:
    """A refund as GET /refund/{id} returns it (fields of the retry answer in the Paystack snippets)."""
    return {"id": refund_id, "integration": 412829, "transaction": 4099260516, "domain": "test",
            "currency": "NGN", "amount": 5000, "status": status, "refunded_at": None,
            "expected_at": "2026-01-05T16:02:18.000Z", "channel": "card", "merchant_note": note,
            "customer_note": "Refund for transaction pay_ref_001", "deducted_amount": 5000, **kw}


def lookup(gateway_refund_id=None, gateway_reference="4099260516") -> RefundLookup:
    return RefundLookup(refund_id="rf_001", reference="pay_ref_001", gateway_reference=gateway_reference,
                        gateway_refund_id=gateway_refund_id, amount=5000, currency="NGN")


# -- webhooks ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "status", "expected"), [
    ("refund.pending", "pending", RefundStatus.PROCESSING),
    ("refund.processing", "processing", RefundStatus.PROCESSING),
    ("refund.processed", "processed", RefundStatus.SUCCEEDED),
    ("refund.failed", "failed", RefundStatus.FAILED)])
def test_refund_events_name_the_payment_not_the_refund(paystack, kind, status, expected):
    body = json.dumps(refund_event(kind, status)).encode()
    evt = paystack.parse_webhook_event({}, body, {})
    assert (evt.type, evt.reference, evt.refund_status, evt.amount) == (kind, "pay_ref_001", expected, 5000)
    assert (evt.refund_id, evt.gateway_refund_id, evt.refund_lookup, evt.status) == (None, None, True, None)
    assert evt.event_id == paystack.parse_webhook_event({}, reserialized(body), {}).event_id


def test_refund_events_without_ids_are_still_told_apart(paystack):
    ids = {paystack.parse_webhook_event({}, json.dumps(refund_event(k, s, amount=a)).encode(), {}).event_id
           for k, s, a in [("refund.pending", "pending", "5000"), ("refund.processed", "processed", "5000"),
                           ("refund.pending", "pending", "7000")]}
    assert len(ids) == 3


def test_needs_attention_is_flagged_for_a_person(paystack):
    body = json.dumps({"event": "refund.needs-attention", "data": {
        "id": 3018284, "status": "needs-attention", "transaction_reference": "pay_ref_001",
        "amount": 5000, "currency": "NGN"}}).encode()
    evt = paystack.parse_webhook_event({}, body, {})
    assert (evt.refund_status, evt.refund_needs_attention, evt.gateway_refund_id) == (
        RefundStatus.PROCESSING, True, "3018284")
    assert "retry_with_customer_details" in evt.error


# -- lookups ---------------------------------------------------------------------------------------------

async def test_lookup_by_refund_id(paystack, http):
    http.get(f"{API}/refund/3018284", payload={"status": True, "message": "Refund retrieved",
                                               "data": refund_obj("pending")})
    out = await paystack.lookup_refund(lookup("3018284"))
    assert (out.status, out.gateway_refund_id, out.amount, out.needs_attention) == (
        RefundStatus.PROCESSING, "3018284", 5000, False)
    http.get(f"{API}/refund/3018284", payload={"status": True, "data": refund_obj("needs-attention")})
    attention = await paystack.lookup_refund(lookup("3018284"))
    assert (attention.status, attention.needs_attention) == (RefundStatus.PROCESSING, True)
    http.get(f"{API}/refund/3018284", status=404, payload={"status": False, "message": "Refund not found"})
    assert await paystack.lookup_refund(lookup("3018284")) is None
    http.get(f"{API}/refund/3018284", payload={"status": True, "data": refund_obj(note="rf_other: x")})
    with pytest.raises(GatewayError, match="another refund"):
        await paystack.lookup_refund(lookup("3018284"))


async def test_lookup_by_our_id_in_merchant_note(paystack, http):
    dashboard = refund_obj(refund_id=1, note="Refund for transaction pay_ref_001 by ops@example.com")
    http.get(REFUND_LIST, payload={"status": True, "data": [dashboard, refund_obj("processed")],
                                   "meta": {"total": 2, "page": 1, "pageCount": 1}})
    out = await paystack.lookup_refund(lookup())
    assert (out.status, out.gateway_refund_id) == (RefundStatus.SUCCEEDED, "3018284")
    assert only(http, "GET", "/refund")["params"] == {"transaction": "4099260516", "perPage": "100", "page": "1"}
    http.get(REFUND_LIST, payload={"status": True, "data": [dashboard], "meta": {"pageCount": 1}})
    assert await paystack.lookup_refund(lookup()) is None


async def test_lookup_without_the_transaction_id_verifies_first(paystack, http):
    http.get(VERIFY, payload=tx("success"))
    http.get(REFUND_LIST, payload={"status": True, "data": [refund_obj("failed")], "meta": {"pageCount": 1}})
    assert (await paystack.lookup_refund(lookup(gateway_reference=None))).status is RefundStatus.FAILED
    http.get(VERIFY, status=400, payload={"status": False, "message": "Transaction reference not found"})
    assert await paystack.lookup_refund(lookup(gateway_reference=None)) is None


async def test_refund_sends_our_id_in_merchant_note_and_retry_with_details(paystack, http):
    http.post(f"{API}/refund", payload={"status": True, "message": "Refund has been queued for processing",
                                        "data": refund_obj("pending")})
    await paystack.refund(refund_request("4099260516"))
    note = json_sent(only(http, "POST", "/refund"))["merchant_note"]
    assert refund_id_from_note(note) == "rf_001"
    http.post(f"{API}/refund/retry_with_customer_details/3018284", payload={
        "status": True, "message": "Refund retried and has been queued for processing",
        "data": refund_obj("processing")})
    out = await paystack.retry_refund_with_customer_details(
        "3018284", {"currency": "NGN", "account_number": "1234567890", "bank_id": "9"})
    assert out.status is RefundStatus.PROCESSING
    assert json_sent(only(http, "POST", "/refund/retry_with_customer_details/3018284")) == {
        "refund_account_details": {"currency": "NGN", "account_number": "1234567890", "bank_id": "9"}}


# -- status queries --------------------------------------------------------------------------------------

async def test_reference_not_found_is_an_answer(paystack, http):
    http.get(VERIFY, status=400, payload={"status": False, "message": "Transaction reference not found",
                                          "type": "validation_error", "code": "transaction_not_found"})
    v = await paystack.verify_payment("pay_ref_001", None)
    assert (v.found, v.status) == (False, PaymentStatus.REQUIRES_PAYMENT_METHOD)
    http.get(VERIFY, status=400, payload={"status": False, "message": "Invalid key"})
    with pytest.raises(GatewayError, match="Invalid key"):
        await paystack.verify_payment("pay_ref_001", None)


async def test_nothing_closes_a_paystack_page_so_expiry_reports_the_status(paystack, http):
    assert not paystack.can_expire
    http.get(VERIFY, payload=tx("success", channel="bank_transfer"))
    late = await paystack.expire_payment("pay_ref_001", None)
    assert (late.status, late.payment_method) == (PaymentStatus.SUCCEEDED, "bank_transfer")
    assert not sent(http, "POST", "/transaction/initialize")


# -- currencies whose unit is unconfirmed ------------------------------------------------------------------

async def test_an_unconfirmed_currency_is_refused_before_anything_is_sent(paystack, http):
    with pytest.raises(GatewayError, match="unconfirmed"):
        await paystack.initialize_payment(payment(amount=5000, currency="XOF"))
    with pytest.raises(GatewayError, match="unconfirmed"):
        await paystack.refund(refund_request("4099260516", amount=5000, currency="RWF"))
    assert not http.requests
    with pytest.raises(ValueError, match="PAYSTACK_CURRENCY_SUBUNITS"):
        PaystackSettings(secret_key=KEY, currencies=frozenset({"NGN", "XOF"}))
    with pytest.raises(ValueError, match="PAYSTACK_CURRENCY_SUBUNITS"):
        gateway_settings_from_env({"PAYSTACK_CURRENCIES": "NGN,XOF"})


async def test_an_operator_stated_unit_is_the_one_used(session, http):
    settings = gateway_settings_from_env({"PAYSTACK_SECRET_KEY": KEY, "PAYSTACK_CURRENCIES": "NGN,XOF",
                                          "PAYSTACK_CURRENCY_SUBUNITS": "XOF=100"})["paystack"]
    paystack = PaystackGateway(session, settings)
    assert paystack.currencies == {"NGN", "XOF"}
    http.post(f"{API}/transaction/initialize", payload={"status": True, "data": {"authorization_url": "https://p/x"}})
    await paystack.initialize_payment(payment(amount=5000, currency="XOF"))  # 5,000 francs
    assert json_sent(only(http, "POST", "/transaction/initialize"))["amount"] == 500_000
    http.get(VERIFY, payload=tx("success", amount=500_000, currency="XOF"))
    assert (await paystack.verify_payment("pay_ref_001", None)).amount == 5000
    with pytest.raises(ValueError, match="PAYSTACK_CURRENCY_SUBUNITS"):
        gateway_settings_from_env({"PAYSTACK_CURRENCY_SUBUNITS": "XOF"})
