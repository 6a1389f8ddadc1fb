"""Stripe as documented (issue 15): session expiry sent and enforced at Stripe, not-found answers,
replayed creates, the success redirect's session_id, refunds followed by lookup (both webhook
API versions), and the errors a repeat call gets."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from gateway_test_support import only, payment, refund_request, sent
from test_gw_stripe import (API, REFUND_LIST, SECRET, SESSION_URL, event, refund_list, refund_obj,
                            session_obj)

from adapters.gateways.config import StripeSettings
from adapters.gateways.resilience import CircuitBreaker, ResilientGateway, RetryPolicy
from adapters.gateways.stripe import StripeGateway, expiry_candidates
from application.errors import GatewayError, GatewayTimeout
from application.ports.gateways import RefundLookup, gateway_status_of, is_repeat_failure
from domain.payments import PaymentStatus, RefundStatus

CREATE = f"{API}/v1/checkout/sessions"
EXPIRE = f"{API}/v1/checkout/sessions/cs_test_1/expire"
OPEN = {"id": "cs_test_1", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/cs_test_1",
        "status": "open", "payment_status": "unpaid", "client_reference_id": "pay_ref_001"}


@pytest.fixture
def stripe(session, clock, metrics):
    return StripeGateway(session, StripeSettings(secret_key="sk_test_x", webhook_secret=SECRET),
                         metrics=metrics, clock=clock)


def lookup(gateway_refund_id=None, gateway_reference="cs_test_1") -> RefundLookup:
    return RefundLookup(refund_id="rf_001", reference="pay_ref_001", gateway_reference=gateway_reference,
                        gateway_refund_id=gateway_refund_id, amount=1000, currency="USD")


def stripe_error(status: int, type_: str, message: str, **kw) -> dict:
    return {"status": status, "payload": {"error": {"type": type_, "message": message, **kw}}}


# -- expiry ------------------------------------------------------------------------------------------

async def test_expires_at_is_our_window_when_stripe_takes_it(stripe, http, clock):
    http.post(CREATE, payload=OPEN)
    window_end = clock.now() + timedelta(minutes=45)
    await stripe.initialize_payment(payment(currency="USD", expires_at=window_end))
    assert only(http, "POST", "/v1/checkout/sessions")["data"]["expires_at"] == str(int(window_end.timestamp()))


async def test_a_window_under_stripes_minimum_is_sent_as_is_then_31_minutes_later(stripe, http, clock):
    """Stripe refuses expires_at under 30 min from creation (storing nothing): the second candidate
    depends only on our window's end, so a replay of this create can send it again."""
    window_end = clock.now() + timedelta(minutes=10)
    http.post(CREATE, **stripe_error(400, "invalid_request_error", "expires_at must be at least 30 minutes",
                                     param="expires_at"))
    http.post(CREATE, payload=OPEN)
    init = await stripe.initialize_payment(payment(currency="USD", expires_at=window_end))
    assert init.gateway_reference == "cs_test_1"
    first, second = sent(http, "POST", "/v1/checkout/sessions")
    assert first["data"]["expires_at"] == str(int(window_end.timestamp()))
    assert second["data"]["expires_at"] == str(int((window_end + timedelta(minutes=31)).timestamp()))
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"] == "pay_ref_001"


def test_expiry_candidates_are_clamped_to_stripes_range(clock):
    now = clock.now()
    assert expiry_candidates(None, now) == []
    assert expiry_candidates(now + timedelta(hours=30), now) == [int((now + timedelta(hours=24, minutes=-1)).timestamp())]
    late = now - timedelta(minutes=5)  # a replay after our window: the stored session, or a refusal
    assert expiry_candidates(late, now) == [int(late.timestamp()), int((late + timedelta(minutes=31)).timestamp())]


async def test_expire_closes_an_open_session(stripe, http):
    http.post(EXPIRE, payload={**OPEN, "status": "expired", "url": None})
    closed = await stripe.expire_payment("pay_ref_001", "cs_test_1")
    assert (closed.status, closed.raw_status, closed.found) == (PaymentStatus.EXPIRED, "expired/unpaid", True)
    assert stripe.can_expire


async def test_a_session_completed_before_the_expiry_is_reported_not_hidden(stripe, http):
    http.post(EXPIRE, **stripe_error(400, "invalid_request_error",
                                     "Only Checkout Sessions with a status in [\"open\"] can be expired."))
    http.get(SESSION_URL, payload=session_obj(payment_intent={"id": "pi_1", "status": "succeeded"}))
    late = await stripe.expire_payment("pay_ref_001", "cs_test_1")
    assert (late.status, late.amount, late.currency) == (PaymentStatus.SUCCEEDED, 2550, "USD")

    http.post(EXPIRE, **stripe_error(400, "invalid_request_error", "not open"))
    http.get(SESSION_URL, payload=session_obj(payment_status="unpaid",
                                              payment_intent={"id": "pi_1", "status": "processing"}))
    assert (await stripe.expire_payment("pay_ref_001", "cs_test_1")).status is PaymentStatus.PROCESSING


# -- not found, replays, the success redirect ------------------------------------------------------------

async def test_no_session_id_or_an_unknown_one_is_not_found_not_an_error(stripe, http):
    for ref in (None, "pi_1", ""):
        v = await stripe.verify_payment("pay_ref_001", ref)
        assert (v.found, v.status, v.raw_status) == (False, PaymentStatus.REQUIRES_PAYMENT_METHOD, "not_found")
    assert not http.requests
    http.get(SESSION_URL, status=404, payload={"error": {"type": "invalid_request_error", "code": "resource_missing",
                                                         "message": "No such checkout.session: 'cs_test_1'"}})
    assert not (await stripe.verify_payment("pay_ref_001", "cs_test_1")).found


async def test_a_timed_out_create_is_recovered_by_replaying_it(stripe, http, clock):
    """Same form, same Idempotency-Key: Stripe answers the replay with the session it created."""
    request = payment(currency="USD", expires_at=clock.now() + timedelta(minutes=40))
    http.post(CREATE, exception=asyncio.TimeoutError())
    with pytest.raises(GatewayTimeout):
        await stripe.initialize_payment(request)
    clock.advance(120)  # the worker's replay, two minutes later
    http.post(CREATE, payload=OPEN, headers={"Idempotent-Replayed": "true"})
    init = await stripe.initialize_payment(request)
    assert init.gateway_reference == "cs_test_1"
    first, replay = sent(http, "POST", "/v1/checkout/sessions")
    assert first["data"] == replay["data"] and first["headers"]["Idempotency-Key"] == replay["headers"]["Idempotency-Key"]


async def test_a_replay_finds_the_session_made_with_the_second_expiry_candidate(stripe, http, clock):
    request = payment(currency="USD", expires_at=clock.now() + timedelta(minutes=10))
    http.post(CREATE, **stripe_error(400, "idempotency_error", "Keys for idempotent requests can only be used "
                                     "with the same parameters they were first used with."))
    http.post(CREATE, payload=OPEN)
    assert (await stripe.initialize_payment(request)).gateway_reference == "cs_test_1"
    assert len(sent(http, "POST", "/v1/checkout/sessions")) == 2


async def test_the_success_redirects_session_id_is_usable(stripe, http):
    params = {"reference": "pay_ref_001", "session_id": "cs_test_1"}
    assert stripe.callback_gateway_reference(params) == "cs_test_1"
    assert stripe.callback_gateway_reference({"session_id": "{CHECKOUT_SESSION_ID}"}) is None
    http.get(SESSION_URL, payload=session_obj(payment_intent={
        "id": "pi_1", "status": "succeeded", "payment_method": {"id": "pm_1", "type": "card"}}))
    v = await stripe.verify_payment("pay_ref_001", stripe.callback_gateway_reference(params))
    assert (v.status, v.payment_method) == (PaymentStatus.SUCCEEDED, "card")


async def test_an_unreadable_success_answer_is_an_unknown_outcome(stripe, http):
    http.post(CREATE, status=200, body='{"id": "cs_test_1", "url": ')
    with pytest.raises(GatewayTimeout, match="unreadable"):
        await stripe.initialize_payment(payment(currency="USD"))


# -- amounts -----------------------------------------------------------------------------------------------

async def test_three_decimal_amounts_must_end_in_zero_and_isk_is_two_decimal(stripe, http):
    stripe.currencies = frozenset({"KWD", "ISK"})
    with pytest.raises(GatewayError, match="last digit of 0"):
        await stripe.initialize_payment(payment(amount=5125, currency="KWD"))
    assert not http.requests  # refused before sending
    http.post(CREATE, payload=OPEN)
    await stripe.initialize_payment(payment(amount=5120, currency="KWD"))
    assert only(http, "POST", "/v1/checkout/sessions")["data"]["line_items[0][price_data][unit_amount]"] == "5120"
    http.post(CREATE, payload=OPEN)
    await stripe.initialize_payment(payment(amount=5, currency="ISK"))
    assert sent(http, "POST", "/v1/checkout/sessions")[-1]["data"]["line_items[0][price_data][unit_amount]"] == "500"


# -- refunds: lookups ----------------------------------------------------------------------------------------

async def test_lookup_by_refund_id(stripe, http):
    http.get(f"{API}/v1/refunds/re_1", payload=refund_obj("pending", pending_reason="charge_pending"))
    out = await stripe.lookup_refund(lookup("re_1"))
    assert (out.status, out.gateway_refund_id, out.amount, out.error) == (
        RefundStatus.PROCESSING, "re_1", 1000, "charge_pending")
    http.get(f"{API}/v1/refunds/re_1", payload=refund_obj("succeeded"))
    assert (await stripe.lookup_refund(lookup("re_1"))).status is RefundStatus.SUCCEEDED
    http.get(f"{API}/v1/refunds/re_1", payload=refund_obj("requires_action"))
    attention = await stripe.lookup_refund(lookup("re_1"))
    assert (attention.status, attention.needs_attention) == (RefundStatus.PROCESSING, True)
    http.get(f"{API}/v1/refunds/re_1", status=404, payload={"error": {"type": "invalid_request_error",
                                                                      "code": "resource_missing"}})
    assert await stripe.lookup_refund(lookup("re_1")) is None
    http.get(f"{API}/v1/refunds/re_1", payload=refund_obj(refund_id="rf_someone_else"))
    with pytest.raises(GatewayError, match="another refund"):
        await stripe.lookup_refund(lookup("re_1"))


async def test_lookup_by_our_id_in_the_metadata_pages_through_the_payments_refunds(stripe, http):
    http.get(SESSION_URL, payload=session_obj())
    http.get(REFUND_LIST, payload=refund_list(refund_obj(refund_id="rf_other", gateway_id="re_9"), has_more=True))
    http.get(REFUND_LIST, payload=refund_list(refund_obj("failed", failure_reason="expired_or_canceled_card")))
    out = await stripe.lookup_refund(lookup())
    assert (out.status, out.gateway_refund_id, out.error) == (RefundStatus.FAILED, "re_1", "expired_or_canceled_card")
    first, second = sent(http, "GET", "/v1/refunds")
    assert first["params"] == {"payment_intent": "pi_1", "limit": "100"}
    assert second["params"] == {"payment_intent": "pi_1", "limit": "100", "starting_after": "re_9"}

    http.get(SESSION_URL, payload=session_obj())
    http.get(REFUND_LIST, payload=refund_list())
    assert await stripe.lookup_refund(lookup()) is None
    http.get(SESSION_URL, payload=session_obj(status="expired", payment_status="unpaid", payment_intent=None))
    assert await stripe.lookup_refund(lookup()) is None  # nothing was paid: nothing refunded


async def test_a_refund_already_made_under_our_id_is_never_created_again(stripe, http):
    """Stripe prunes idempotency keys after 24 h; our id in the metadata does not expire."""
    http.get(SESSION_URL, payload=session_obj())
    http.get(REFUND_LIST, payload=refund_list(refund_obj("pending")))
    out = await stripe.refund(refund_request("cs_test_1", amount=1000, currency="USD"))
    assert (out.status, out.gateway_refund_id) == (RefundStatus.PROCESSING, "re_1")
    assert not sent(http, "POST", "/v1/refunds")


# -- refunds: webhooks of both endpoint API versions -----------------------------------------------------------

@pytest.mark.parametrize("kind", ["refund.created", "refund.updated", "refund.failed", "charge.refund.updated"])
def test_refund_object_events(stripe, kind):
    status = "failed" if kind == "refund.failed" else "pending" if kind == "refund.created" else "succeeded"
    evt = stripe.parse_webhook_event({}, event(kind, refund_obj(status)), {})
    expected = {"failed": RefundStatus.FAILED, "pending": RefundStatus.PROCESSING,
                "succeeded": RefundStatus.SUCCEEDED}[status]
    assert (evt.refund_status, evt.refund_id, evt.gateway_refund_id, evt.reference) == (
        expected, "rf_001", "re_1", "pay_ref_001")
    assert (evt.amount, evt.currency, evt.status, evt.refund_lookup) == (1000, "USD", None, False)


def test_charge_refunded_without_a_refunds_list_asks_for_a_lookup(stripe):
    charge = {"id": "ch_1", "object": "charge", "amount": 2550, "amount_refunded": 1000, "currency": "usd",
              "refunded": False, "payment_intent": "pi_1", "metadata": {"reference": "pay_ref_001"}}
    evt = stripe.parse_webhook_event({}, event("charge.refunded", charge), {})
    assert (evt.refund_lookup, evt.refund_status, evt.refund_id) == (True, None, None)
    assert (evt.reference, evt.gateway_reference, evt.amount) == ("pay_ref_001", "pi_1", 1000)


def test_a_refund_made_in_the_dashboard_has_no_id_of_ours(stripe):
    evt = stripe.parse_webhook_event({}, event("refund.updated", refund_obj(refund_id=None)), {})
    assert (evt.refund_id, evt.refund_lookup, evt.gateway_refund_id) == (None, True, "re_1")


# -- errors a repeat call gets -------------------------------------------------------------------------------------

async def test_409_key_in_use_is_a_retryable_repeat_failure(stripe, http):
    http.post(CREATE, **stripe_error(409, "invalid_request_error", "There is currently another in-progress "
                                     "request using this Idempotent Key", code="idempotency_key_in_use"))
    with pytest.raises(GatewayError) as err:
        await stripe.initialize_payment(payment(currency="USD"))
    assert is_repeat_failure(err.value) and err.value.retryable
    assert gateway_status_of(err.value) == (409, "idempotency_key_in_use")


async def test_refund_refusals_a_pruned_key_turns_a_repeat_into(stripe, http):
    for code in ("charge_already_refunded", "amount_too_large"):
        http.get(SESSION_URL, payload=session_obj())
        http.get(REFUND_LIST, payload=refund_list())
        http.post(f"{API}/v1/refunds", **stripe_error(400, "invalid_request_error", "already refunded", code=code))
        with pytest.raises(GatewayError) as err:
            await stripe.refund(refund_request("cs_test_1", amount=1000, currency="USD"))
        assert is_repeat_failure(err.value) and not err.value.retryable, code
    http.post(CREATE, status=402, payload={"error": {"type": "card_error", "code": "card_declined",
                                                     "message": "declined"}})
    with pytest.raises(GatewayError) as err:
        await stripe.initialize_payment(payment(currency="USD"))
    assert not is_repeat_failure(err.value) and gateway_status_of(err.value) == (402, "card_declined")


async def test_repeat_failures_do_not_open_the_breaker(stripe, http, clock):
    body = stripe_error(409, "invalid_request_error", "in use", code="idempotency_key_in_use")
    breaker = CircuitBreaker("stripe", failure_threshold=2, clock=clock)
    gw = ResilientGateway(stripe, breaker, RetryPolicy(attempts=1))
    for _ in range(3):
        http.post(CREATE, **body)
        with pytest.raises(GatewayError):
            await gw.initialize_payment(payment(currency="USD"))
    assert breaker.state == "closed"

