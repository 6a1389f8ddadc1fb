"""MTN MoMo as documented (issue 15): one market per API user and target environment, a
production target needs its host, CREATED is not final, 404 is "not found", refunds looked up."""
from __future__ import annotations

import pytest
from test_gw_mtn_momo import API, BASE, DISB, REF_ID, STATUS_URL, rtp, token

from adapters.gateways.config import MomoSettings, gateway_settings_from_env
from adapters.gateways.mtn_momo import MtnMomoGateway, momo_reference_id
from adapters.gateways.routing import StaticGatewayRegistry
from application.errors import GatewayError
from application.ports.gateways import RefundLookup
from domain.payments import PaymentStatus, RefundStatus

PROD = {"MOMO_SUBSCRIPTION_KEY": "s", "MOMO_API_USER": "c72025f5-5cd1-4630-99e4-8ba4722fad56",
        "MOMO_API_KEY": "k", "MOMO_TARGET_ENVIRONMENT": "mtnuganda",
        "MOMO_BASE_URL": "https://proxy.momoapi.mtn.com"}
REFUND_ID = momo_reference_id("rf_001", "refund")


@pytest.fixture
def momo(session, clock):
    return MtnMomoGateway(session, MomoSettings(**BASE), clock=clock)


def test_a_currency_goes_to_momo_only_when_its_market_uses_it(session):
    uganda = MtnMomoGateway(session, gateway_settings_from_env(PROD)["mtn_momo"])
    assert uganda.currencies == {"UGX"}
    flw = type("Flw", (), {"name": "flutterwave", "currencies": frozenset({"UGX", "XAF"}), "enabled": True})()
    registry = StaticGatewayRegistry({"mtn_momo": uganda, "flutterwave": flw})
    assert registry.route("XAF", "CM") == ["flutterwave"]  # fails over instead of failing at MoMo
    assert registry.route("UGX", "UG") == ["mtn_momo", "flutterwave"]
    # settings built by hand are cut down to the market too: the sandbox takes EUR only
    assert MtnMomoGateway(session, MomoSettings(**BASE)).currencies == {"EUR"}


def test_market_configuration_errors_name_the_variable():
    with pytest.raises(ValueError, match="MOMO_CURRENCIES"):
        gateway_settings_from_env({**PROD, "MOMO_CURRENCIES": "UGX,XAF"})
    with pytest.raises(ValueError, match="MOMO_MARKET_CURRENCY"):
        gateway_settings_from_env({**PROD, "MOMO_TARGET_ENVIRONMENT": "mtnrwanda"})
    rwanda = gateway_settings_from_env({**PROD, "MOMO_TARGET_ENVIRONMENT": "mtnrwanda",
                                        "MOMO_BASE_URL": "https://proxy.momoapi.mtn.co.rw",
                                        "MOMO_MARKET_CURRENCY": "RWF"})["mtn_momo"]
    assert (rwanda.currencies, rwanda.market) == ({"RWF"}, {"RWF"})
    assert gateway_settings_from_env({**PROD, "MOMO_TARGET_ENVIRONMENT": "mtncameroon"})["mtn_momo"].currencies == {"XAF"}


def test_a_production_target_without_its_host_is_a_start_up_error():
    env = {k: v for k, v in PROD.items() if k != "MOMO_BASE_URL"}
    with pytest.raises(ValueError, match="MOMO_BASE_URL"):
        gateway_settings_from_env(env)
    with pytest.raises(ValueError, match="MOMO_BASE_URL"):
        MomoSettings(**{**BASE, "target_environment": "mtnghana"})
    assert gateway_settings_from_env({})["mtn_momo"].base_url == "https://sandbox.momodeveloper.mtn.com"


async def test_created_is_not_final_and_404_is_not_found(momo, http):
    token(http)
    http.get(STATUS_URL, payload=rtp("CREATED"))
    v = await momo.verify_payment("pay_ref_001", None)
    assert (v.status, v.raw_status, v.payment_method) == (PaymentStatus.PROCESSING, "CREATED", "mobile_money")
    http.get(STATUS_URL, status=404, payload={"code": "RESOURCE_NOT_FOUND",
                                              "message": "Requested resource was not found."})
    missing = await momo.verify_payment("pay_ref_001", None)
    assert (missing.found, missing.status, missing.gateway_reference) == (
        False, PaymentStatus.REQUIRES_PAYMENT_METHOD, REF_ID)
    http.get(STATUS_URL, payload=rtp("PENDING"))
    assert not momo.can_expire
    assert (await momo.expire_payment("pay_ref_001", None)).status is PaymentStatus.PROCESSING


async def test_refund_lookup_by_our_derived_reference_id(session, http, clock):
    momo = MtnMomoGateway(session, MomoSettings(**BASE, **DISB), clock=clock)
    url = f"{API}/disbursement/v1_0/refund/{REFUND_ID}"
    request = RefundLookup("rf_001", "pay_ref_001", REF_ID, None, 25000, "UGX")
    token(http, "disbursement")
    http.get(url, payload={"amount": "25000", "currency": "UGX", "externalId": "rf_001", "status": "CREATED"})
    out = await momo.lookup_refund(request)
    assert (out.status, out.gateway_refund_id, out.amount) == (RefundStatus.PROCESSING, REFUND_ID, 25000)
    http.get(url, payload={"amount": "25000", "currency": "UGX", "externalId": "rf_001", "status": "FAILED",
                           "reason": {"code": "PAYEE_NOT_FOUND", "message": "payee"}})
    failed = await momo.lookup_refund(request)
    assert (failed.status, failed.error) == (RefundStatus.FAILED, "PAYEE_NOT_FOUND")
    http.get(url, status=404, payload={"code": "RESOURCE_NOT_FOUND"})
    assert await momo.lookup_refund(request) is None
    http.get(url, payload={"externalId": "rf_999", "status": "SUCCESSFUL"})
    with pytest.raises(GatewayError, match="another refund"):
        await momo.lookup_refund(request)


async def test_no_disbursement_no_refund_record(momo, http):
    assert await momo.lookup_refund(RefundLookup("rf_001", "pay_ref_001", REF_ID, None, 1, "EUR")) is None
    assert not http.requests
