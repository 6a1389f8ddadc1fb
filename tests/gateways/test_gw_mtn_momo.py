"""MTN MoMo Collection adapter: token caching, derived X-Reference-Id, 409, unsigned callbacks,
and both refund paths (no Disbursement configured / Disbursement configured)."""
from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
from gateway_test_support import json_sent, only, payment, refund_request, sent

from adapters.gateways.config import MomoSettings
from adapters.gateways.mtn_momo import MtnMomoGateway, momo_reference_id
from application.errors import GatewayError
from domain.payments import PaymentStatus, RefundStatus

API = "https://sandbox.momodeveloper.mtn.com"
USER = "c72025f5-5cd1-4630-99e4-8ba4722fad56"
REF_ID = momo_reference_id("pay_ref_001")
STATUS_URL = f"{API}/collection/v1_0/requesttopay/{REF_ID}"
BASE = dict(subscription_key="momo_sub_test_x", api_user=USER, api_key="momo_key_test_x",
            callback_url="https://pay.example/api/v1/payment/webhooks/mtn_momo", callback_secret="cb_test_x",
            currencies=frozenset({"UGX", "EUR"}))
DISB = dict(disbursement_subscription_key="disb_sub_test_x", disbursement_api_user=USER,
            disbursement_api_key="disb_key_test_x")


@pytest.fixture
def momo(session, clock):
    return MtnMomoGateway(session, MomoSettings(**BASE), clock=clock)


def token(http, product="collection", expires_in=3600):
    http.post(f"{API}/{product}/token/", payload={"access_token": f"tok_{product}", "token_type": "access_token",
                                                  "expires_in": expires_in})


def rtp(status: str, **kw) -> dict:
    return {"amount": "25000", "currency": "UGX", "externalId": "pay_ref_001", "financialTransactionId": "363440463",
            "payer": {"partyIdType": "MSISDN", "partyId": "256772123456"}, "status": status, **kw}


def test_reference_id_is_a_stable_uuid4():
    assert uuid.UUID(REF_ID).version == 4 and REF_ID == momo_reference_id("pay_ref_001")
    assert REF_ID != momo_reference_id("pay_ref_002") != momo_reference_id("pay_ref_001", "refund")


async def test_whole_flow_initialize_callback_verify(momo, http):
    token(http)
    http.post(f"{API}/collection/v1_0/requesttopay", status=202, body="")
    init = await momo.initialize_payment(payment(amount=25000, currency="UGX", phone="+256 772 123456",
                                                 description="Order PP-1 don't"))
    assert (init.status, init.gateway_reference, init.authorization_url) == (PaymentStatus.PROCESSING, REF_ID, None)
    tok = only(http, "POST", "/collection/token/")
    assert tok["headers"]["Authorization"] == "Basic " + base64.b64encode(f"{USER}:momo_key_test_x".encode()).decode()
    assert tok["headers"]["Ocp-Apim-Subscription-Key"] == "momo_sub_test_x" and tok["data"] is None
    call = only(http, "POST", "/collection/v1_0/requesttopay")
    h = call["headers"]
    assert (h["Authorization"], h["X-Reference-Id"], h["X-Target-Environment"], h["Ocp-Apim-Subscription-Key"]) == (
        "Bearer tok_collection", REF_ID, "sandbox", "momo_sub_test_x")
    token_param = momo.callback_token("pay_ref_001")
    assert h["X-Callback-Url"] == (f"https://pay.example/api/v1/payment/webhooks/mtn_momo"
                                   f"?reference=pay_ref_001&token={token_param}")
    assert json_sent(call) == {"amount": "25000", "currency": "UGX", "externalId": "pay_ref_001",
                               "payer": {"partyIdType": "MSISDN", "partyId": "256772123456"},
                               "payerMessage": "Order PP-1 dont", "payeeNote": "pay_ref_001"}

    params = {"reference": "pay_ref_001", "token": token_param}
    body = json.dumps(rtp("SUCCESSFUL")).encode()
    assert momo.verify_webhook_signature({}, body, params)
    evt = momo.parse_webhook_event({}, body, params)
    assert evt.needs_confirmation and momo.weak_webhook_auth
    assert (evt.reference, evt.gateway_reference, evt.status, evt.amount) == (
        "pay_ref_001", REF_ID, PaymentStatus.SUCCEEDED, 25000)

    http.get(STATUS_URL, payload=rtp("SUCCESSFUL"))
    v = await momo.verify_payment("pay_ref_001", REF_ID)
    assert (v.status, v.amount, v.currency, v.gateway_reference) == (PaymentStatus.SUCCEEDED, 25000, "UGX", REF_ID)
    assert len(sent(http, "POST", "/collection/token/")) == 1  # token reused


async def test_decline_and_pending(momo, http):
    token(http)
    http.get(STATUS_URL, payload=rtp("FAILED", reason={"code": "APPROVAL_REJECTED", "message": "rejected"}))
    v = await momo.verify_payment("pay_ref_001", None)
    assert (v.status, v.error) == (PaymentStatus.FAILED, "APPROVAL_REJECTED")
    http.get(STATUS_URL, payload=rtp("FAILED", reason="EXPIRED"))
    assert (await momo.verify_payment("pay_ref_001", None)).error == "EXPIRED"
    http.get(STATUS_URL, payload=rtp("PENDING"))
    assert (await momo.verify_payment("pay_ref_001", None)).status is PaymentStatus.PROCESSING
    http.get(STATUS_URL, payload=rtp("SUCCESSFUL", externalId="someone_else"))
    with pytest.raises(GatewayError):
        await momo.verify_payment("pay_ref_001", None)


async def test_409_means_already_created_so_query_status(momo, http):
    token(http)
    http.post(f"{API}/collection/v1_0/requesttopay", status=409,
              payload={"code": "RESOURCE_ALREADY_EXIST", "message": "Duplicated reference id"})
    http.get(STATUS_URL, payload=rtp("SUCCESSFUL"))
    init = await momo.initialize_payment(payment(amount=25000, currency="UGX", phone="256772123456"))
    assert (init.status, init.gateway_reference) == (PaymentStatus.SUCCEEDED, REF_ID)
    assert len(sent(http, "POST", "/collection/v1_0/requesttopay")) == 1


async def test_token_refreshed_before_expiry_and_after_401(momo, http, clock):
    token(http)
    http.get(STATUS_URL, payload=rtp("PENDING"))
    await momo.verify_payment("pay_ref_001", None)
    clock.advance(3600 - 61)
    http.get(STATUS_URL, payload=rtp("PENDING"))
    await momo.verify_payment("pay_ref_001", None)
    assert len(sent(http, "POST", "/collection/token/")) == 1
    clock.advance(2)  # inside the refresh margin
    token(http)
    http.get(STATUS_URL, payload=rtp("PENDING"))
    await momo.verify_payment("pay_ref_001", None)
    assert len(sent(http, "POST", "/collection/token/")) == 2
    http.get(STATUS_URL, status=401, payload={"code": "401", "message": "Access token expired"})
    token(http)
    http.get(STATUS_URL, payload=rtp("PENDING"))
    await momo.verify_payment("pay_ref_001", None)
    assert len(sent(http, "POST", "/collection/token/")) == 3


async def test_token_grant_type_body_behind_flag(session, http):
    momo = MtnMomoGateway(session, MomoSettings(**BASE, token_grant_type=True))
    token(http)
    http.get(STATUS_URL, payload=rtp("PENDING"))
    await momo.verify_payment("pay_ref_001", None)
    assert only(http, "POST", "/collection/token/")["data"] == {"grant_type": "client_credentials"}


async def test_refund_without_disbursement_is_a_clear_error(momo, http):
    with pytest.raises(GatewayError, match="Collection cannot refund; configure the Disbursement") as err:
        await momo.refund(refund_request(REF_ID, amount=25000, currency="UGX"))
    assert not err.value.retryable and not http.requests


async def test_refund_through_disbursement(session, http, clock):
    momo = MtnMomoGateway(session, MomoSettings(**BASE, **DISB), clock=clock)
    token(http, "disbursement")
    http.post(f"{API}/disbursement/v1_0/refund", status=202, body="")
    out = await momo.refund(refund_request(REF_ID, amount=25000, currency="UGX"))
    refund_id = momo_reference_id("rf_001", "refund")
    assert (out.status, out.gateway_refund_id) == (RefundStatus.PROCESSING, refund_id)
    tok = only(http, "POST", "/disbursement/token/")
    assert tok["headers"]["Ocp-Apim-Subscription-Key"] == "disb_sub_test_x"
    call = only(http, "POST", "/disbursement/v1_0/refund")
    assert (call["headers"]["X-Reference-Id"], call["headers"]["Ocp-Apim-Subscription-Key"]) == (
        refund_id, "disb_sub_test_x")
    assert call["headers"]["Authorization"] == "Bearer tok_disbursement"
    assert json_sent(call) == {"amount": "25000", "currency": "UGX", "externalId": "rf_001",
                               "payerMessage": "requested_by_customer", "payeeNote": "rf_001",
                               "referenceIdToRefund": REF_ID}
    http.post(f"{API}/disbursement/v1_0/refund", status=409, payload={"code": "RESOURCE_ALREADY_EXIST"})
    http.get(f"{API}/disbursement/v1_0/refund/{refund_id}", payload={"status": "SUCCESSFUL"})
    assert (await momo.refund(refund_request(REF_ID, amount=25000, currency="UGX"))).status is RefundStatus.SUCCEEDED


async def test_eur_sandbox_amount_is_a_major_unit_string(momo, http):
    token(http)
    http.post(f"{API}/collection/v1_0/requesttopay", status=202, body="")
    await momo.initialize_payment(payment(amount=500, currency="EUR", phone="46733123453"))
    assert json_sent(only(http, "POST", "/collection/v1_0/requesttopay"))["amount"] == "5.00"
    with pytest.raises(GatewayError, match="phone"):
        await momo.initialize_payment(payment(amount=500, currency="EUR"))


async def test_server_errors(momo, http):
    token(http)
    http.post(f"{API}/collection/v1_0/requesttopay", status=500,
              payload={"code": "NOT_ALLOWED_TARGET_ENVIRONMENT", "message": "Access to target environment is forbidden"})
    with pytest.raises(GatewayError) as err:
        await momo.initialize_payment(payment(amount=500, currency="EUR", phone="46733123453"))
    assert err.value.details["provider_code"] == "NOT_ALLOWED_TARGET_ENVIRONMENT"
    assert "momo_key_test_x" not in str(err.value)


def test_callback_checks(momo):
    body = json.dumps(rtp("SUCCESSFUL")).encode()
    good = {"reference": "pay_ref_001", "token": momo.callback_token("pay_ref_001")}
    assert momo.verify_webhook_signature({}, body, good)
    assert not momo.verify_webhook_signature({}, body, {})
    assert not momo.verify_webhook_signature({}, body, {"reference": "pay_ref_001"})
    assert not momo.verify_webhook_signature({}, body, {"reference": "pay_ref_001", "token": "forged"})
    assert not momo.verify_webhook_signature({}, body, {**good, "reference": "pay_ref_002"})
    with pytest.raises(ValueError):
        momo.parse_webhook_event({}, body, {})
    empty = momo.parse_webhook_event({}, b"", good)  # bodies are hints only
    assert empty.needs_confirmation and empty.reference == "pay_ref_001"
    assert re.fullmatch(r"momo_[0-9a-f]{40}", empty.event_id)


def test_callback_without_configured_secret_needs_only_a_reference(session):
    momo = MtnMomoGateway(session, MomoSettings(**{**BASE, "callback_secret": ""}))
    assert momo.verify_webhook_signature({}, b"{}", {"reference": "pay_ref_001"})
    assert momo._callback_url("pay_ref_001").endswith("?reference=pay_ref_001")
