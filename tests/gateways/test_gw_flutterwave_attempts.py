"""Flutterwave as documented (issue 15): several attempts under one tx_ref on a Standard link,
charge.completed for failures too, session_duration, "No transaction was found", refunds not
completed at creation followed up, and v4 webhooks beside v3."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import timedelta

import pytest
from gateway_test_support import json_sent, only, payment, refund_request, sent
from test_gw_flutterwave import API, ATTEMPTS, BY_REF, HASH, NOT_FOUND, txn

from adapters.gateways.config import FlutterwaveSettings, gateway_settings_from_env
from adapters.gateways.flutterwave import FlutterwaveGateway
from application.errors import GatewayError
from application.ports.gateways import RefundLookup
from domain.payments import PaymentStatus, RefundStatus

FIRST, SECOND = 288200108, 288200214


@pytest.fixture
def flw(session, clock):
    return FlutterwaveGateway(session, FlutterwaveSettings(secret_key="FLWSECK_TEST-x", secret_hash=HASH),
                              clock=clock)


def attempt(status: str, tx_id: int, **kw) -> dict:
    """One attempt as verify and charge.completed show it (each its own id under our tx_ref)."""
    return {**txn(status), "id": tx_id, "flw_ref": f"FLW-{tx_id}", "payment_type": "card",
            "created_at": "2026-01-01T12:05:00.000Z", **kw}


def charge_completed(data: dict) -> bytes:
    return json.dumps({"event": "charge.completed", "data": data, "event.type": "CARD_TRANSACTION"}).encode()


def by_id(tx_id: int) -> str:
    return f"{API}/v3/transactions/{tx_id}/verify"


# -- several attempts on one link -------------------------------------------------------------------------

def test_a_failed_attempt_webhook_is_not_a_final_outcome(flw):
    evt = flw.parse_webhook_event({}, charge_completed(attempt("failed", FIRST, processor_response="Declined")), {})
    assert (evt.status, evt.gateway_reference, evt.needs_confirmation) == (
        PaymentStatus.REQUIRES_ACTION, str(FIRST), True)
    assert evt.error == "Declined"


async def test_a_success_after_a_failed_attempt_is_found_under_the_tx_ref(flw, http):
    """verify_by_reference may show the failed attempt; the later success is found among the
    attempts and confirmed by its own verify (the documented check)."""
    http.get(BY_REF, payload={"status": "success", "data": attempt("failed", FIRST)})
    http.get(ATTEMPTS, payload={"status": "success", "data": [attempt("successful", SECOND),
                                                              attempt("failed", FIRST)]})
    http.get(by_id(SECOND), payload={"status": "success", "data": attempt("successful", SECOND)})
    v = await flw.verify_payment("pay_ref_001", None)
    assert (v.status, v.gateway_reference, v.amount, v.payment_method) == (
        PaymentStatus.SUCCEEDED, str(SECOND), 150050, "card")
    assert only(http, "GET", "/v3/transactions")["params"] == {"tx_ref": "pay_ref_001"}


async def test_verifying_the_failed_webhooks_id_still_looks_at_the_other_attempts(flw, http):
    http.get(by_id(FIRST), payload={"status": "success", "data": attempt("failed", FIRST)})
    http.get(ATTEMPTS, payload={"status": "success", "data": [attempt("failed", FIRST)]})
    v = await flw.verify_payment("pay_ref_001", str(FIRST))
    assert (v.status, v.gateway_reference) == (PaymentStatus.REQUIRES_ACTION, str(FIRST))


async def test_attempts_of_another_tx_ref_are_ignored(flw, http):
    http.get(BY_REF, payload={"status": "success", "data": attempt("failed", FIRST)})
    http.get(ATTEMPTS, payload={"status": "success", "data": [attempt("successful", SECOND, tx_ref="other")]})
    assert (await flw.verify_payment("pay_ref_001", None)).status is PaymentStatus.REQUIRES_ACTION
    assert not sent(http, "GET", f"/v3/transactions/{SECOND}/verify")


async def test_after_our_window_a_failed_attempt_is_final(flw, http):
    http.get(BY_REF, payload={"status": "success", "data": attempt("failed", FIRST)})
    http.get(ATTEMPTS, payload={"status": "success", "data": [attempt("failed", FIRST)]})
    assert not flw.can_expire
    ended = await flw.expire_payment("pay_ref_001", None)
    assert (ended.status, ended.error) == (PaymentStatus.FAILED, "Declined")


async def test_retries_exhausted_end_the_link_early(session, http):
    flw = FlutterwaveGateway(session, FlutterwaveSettings(secret_key="FLWSECK_TEST-x", secret_hash=HASH,
                                                          max_retry_attempt=1))
    http.get(BY_REF, payload={"status": "success", "data": attempt("failed", SECOND)})
    http.get(ATTEMPTS, payload={"status": "success", "data": [attempt("failed", SECOND), attempt("failed", FIRST)]})
    assert (await flw.verify_payment("pay_ref_001", None)).status is PaymentStatus.FAILED


async def test_no_attempt_yet_is_not_found_not_an_error(flw, http):
    http.get(BY_REF, status=400, payload=NOT_FOUND)
    v = await flw.verify_payment("pay_ref_001", None)
    assert (v.found, v.status) == (False, PaymentStatus.REQUIRES_PAYMENT_METHOD)
    assert not sent(http, "GET", "/v3/transactions")  # no attempt: nothing to list
    http.get(BY_REF, status=401, payload={"status": "error", "message": "Invalid authorization key", "data": None})
    with pytest.raises(GatewayError, match="Invalid authorization"):
        await flw.verify_payment("pay_ref_001", None)


def test_the_redirects_transaction_id_is_usable(flw):
    assert flw.callback_gateway_reference({"status": "successful", "tx_ref": "pay_ref_001",
                                           "transaction_id": str(SECOND)}) == str(SECOND)
    assert flw.callback_gateway_reference({"status": "cancelled", "tx_ref": "pay_ref_001"}) is None


# -- the link's life ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("window", "minutes"), [(timedelta(minutes=30), 30), (timedelta(seconds=1799), 29),
                                                 (timedelta(days=3), 1440), (timedelta(seconds=10), 1)])
async def test_session_duration_is_never_longer_than_our_window(flw, http, clock, window, minutes):
    http.post(f"{API}/v3/payments", payload={"status": "success", "data": {"link": "https://x"}})
    await flw.initialize_payment(payment(expires_at=clock.now() + window))
    assert json_sent(only(http, "POST", "/v3/payments"))["session_duration"] == minutes


async def test_max_retry_attempt_is_sent_when_configured(session, http):
    settings = gateway_settings_from_env({"FLUTTERWAVE_SECRET_KEY": "k", "FLUTTERWAVE_SECRET_HASH": HASH,
                                          "FLUTTERWAVE_MAX_RETRY_ATTEMPT": "3"})["flutterwave"]
    http.post(f"{API}/v3/payments", payload={"status": "success", "data": {"link": "https://x"}})
    await FlutterwaveGateway(session, settings).initialize_payment(payment())
    assert json_sent(only(http, "POST", "/v3/payments"))["max_retry_attempt"] == 3


# -- refunds not completed at creation ------------------------------------------------------------------------

async def test_a_refund_not_completed_at_creation_is_followed(flw, http):
    http.post(f"{API}/v3/transactions/{SECOND}/refund", payload={
        "status": "success", "message": "Transaction refund initiated",
        "data": {"id": 75923, "tx_id": SECOND, "flw_ref": "URF_1", "amount_refunded": 50, "status": "pending",
                 "destination": "payment_source", "meta": {"source": "availablebalance"}}})
    out = await flw.refund(refund_request(str(SECOND), amount=5000))
    assert (out.status, out.gateway_refund_id) == (RefundStatus.PROCESSING, "75923")
    request = RefundLookup("rf_001", "pay_ref_001", str(SECOND), "75923", 5000, "NGN")
    http.get(f"{API}/v3/refunds/75923", payload={"status": "success", "data": {
        "id": 75923, "tx_id": SECOND, "amount_refunded": 50, "status": "completed-mpgs"}})
    done = await flw.lookup_refund(request)
    assert (done.status, done.amount) == (RefundStatus.SUCCEEDED, 5000)
    http.get(f"{API}/v3/refunds/75923", payload={"status": "success", "data": {"id": 75923, "status": "failed"}})
    assert (await flw.lookup_refund(request)).status is RefundStatus.FAILED
    http.get(f"{API}/v3/refunds/75923", status=404, payload={"status": "error", "message": "Refund not found"})
    assert await flw.lookup_refund(request) is None


async def test_a_refund_whose_answer_was_lost_is_found_by_our_id_in_its_comments(flw, http):
    listing = re.compile(r"^https://api\.flutterwave\.com/v3/refunds\?page=\d+$")
    http.get(listing, payload={"status": "success", "data": [
        {"id": 1, "tx_id": SECOND, "comments": "requested_by_customer (rf_other)", "status": "completed"},
        {"id": 75923, "tx_id": SECOND, "comments": "requested_by_customer (rf_001)", "status": "pending"}]})
    out = await flw.lookup_refund(RefundLookup("rf_001", "pay_ref_001", str(SECOND), None, 5000, "NGN"))
    assert (out.status, out.gateway_refund_id) == (RefundStatus.PROCESSING, "75923")
    http.get(listing, payload={"status": "success", "data": []})
    assert await flw.lookup_refund(RefundLookup("rf_002", "pay_ref_001", str(SECOND), None, 5000, "NGN")) is None


async def test_only_a_successful_attempt_is_refunded(flw, http):
    http.get(BY_REF, payload={"status": "success", "data": attempt("failed", FIRST)})
    http.get(ATTEMPTS, payload={"status": "success", "data": [attempt("failed", FIRST)]})
    with pytest.raises(GatewayError, match="no successful transaction"):
        await flw.refund(refund_request(None))
    assert not sent(http, "POST", f"/v3/transactions/{FIRST}/refund")


# -- v4 webhooks beside v3 -------------------------------------------------------------------------------------

V4 = {"id": "wbk_2MKxD1d7aT", "type": "charge.completed", "timestamp": 1767268800000, "data": {
    "id": "chg_Jwb2Y7ZbJQ", "amount": 1500.5, "currency": "NGN", "reference": "pay_ref_001",
    "status": "succeeded", "payment_method": {"type": "card"}, "meta": {}}}


def test_v4_signature_equal_to_the_secret_hash_and_the_hmac_form_are_both_accepted(flw):
    body = json.dumps(V4).encode()
    assert flw.verify_webhook_signature({"flutterwave-signature": HASH}, body, {})
    mac = base64.b64encode(hmac.new(HASH.encode(), body, hashlib.sha256).digest()).decode()
    assert flw.verify_webhook_signature({"Flutterwave-Signature": mac}, body, {})
    assert not flw.verify_webhook_signature({"flutterwave-signature": "forged"}, body, {})
    assert not flw.verify_webhook_signature({"flutterwave-signature": ""}, body, {})


def test_v4_envelope(flw):
    evt = flw.parse_webhook_event({}, json.dumps(V4).encode(), {})
    assert (evt.event_id, evt.type, evt.reference, evt.status) == (
        "flw4_wbk_2MKxD1d7aT", "charge.completed", "pay_ref_001", PaymentStatus.SUCCEEDED)
    assert evt.needs_confirmation and evt.amount is None  # the v4 unit is unconfirmed: verified instead
    failed = {**V4, "id": "wbk_2", "data": {**V4["data"], "status": "failed"}}
    assert flw.parse_webhook_event({}, json.dumps(failed).encode(), {}).status is PaymentStatus.REQUIRES_ACTION
    refund = {"id": "wbk_3", "type": "refund.completed", "timestamp": 1, "data": {
        "id": "rfd_eHwAkSdZ48", "amount_refunded": 2000, "status": "completed", "charge_id": "chg_Jwb2Y7ZbJQ"}}
    evt = flw.parse_webhook_event({}, json.dumps(refund).encode(), {})
    assert (evt.refund_status, evt.gateway_refund_id, evt.refund_lookup, evt.needs_confirmation) == (
        RefundStatus.SUCCEEDED, "rfd_eHwAkSdZ48", True, True)
