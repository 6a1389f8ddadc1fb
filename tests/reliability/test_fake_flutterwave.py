"""The Flutterwave adapter against the fake gateway: the customer's retry on the same link, the
link's end at our window, refunds not completed at creation, and faults (nothing double-sent)."""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.gateways.resilience import CircuitBreaker, ResilientGateway, RetryPolicy
from application.errors import GatewayError, GatewayTimeout
from application.ports.gateways import InitializePayment, RefundLookup, RefundPayment
from domain.payments import PaymentStatus, RefundStatus
from tests.reliability.conftest import FLW_HASH
from tests.reliability.fake_gateway import (malformed_json, rate_limited, server_error, timeout_after_commit,
                                            timeout_before_commit)

REF = "pay_ref_flw_1"


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def link(clock, minutes: int = 30) -> InitializePayment:
    return InitializePayment(reference=REF, amount=45_000, currency="KES", email="ada@example.com", phone=None,
                             callback_url="https://shop.example/cb", description="Order PP-2",
                             expires_at=clock.now() + timedelta(minutes=minutes))


def refund(refund_id="rf_001", gateway_reference=None, amount=20_000) -> RefundPayment:
    return RefundPayment(refund_id=refund_id, reference=REF, gateway_reference=gateway_reference, amount=amount,
                         currency="KES", reason="requested_by_customer")


def resilient(adapter, clock) -> ResilientGateway:
    return ResilientGateway(adapter, CircuitBreaker("flutterwave", clock=clock),
                            RetryPolicy(sleep=Sleeps(), rng=random.Random(0)))


async def test_retry_on_the_same_link_settles_on_the_later_success(flutterwave, fake, clock):
    await flutterwave.initialize_payment(link(clock))
    assert fake.flutterwave.links[REF]["session_duration"] == 30
    failed_hook = fake.flutterwave.attempt(REF, "failed", "Insufficient funds")
    assert flutterwave.verify_webhook_signature({"verif-hash": FLW_HASH}, failed_hook, {})
    failed = flutterwave.parse_webhook_event({}, failed_hook, {})
    assert failed.status is PaymentStatus.REQUIRES_ACTION  # not the end of the payment
    by_webhook_id = await flutterwave.verify_payment(REF, failed.gateway_reference)
    assert (by_webhook_id.status, by_webhook_id.raw_status) == (PaymentStatus.REQUIRES_ACTION, "failed")
    assert fake.charges == []

    success_hook = fake.flutterwave.attempt(REF, "successful")
    success = flutterwave.parse_webhook_event({}, success_hook, {})
    assert success.status is PaymentStatus.SUCCEEDED and success.needs_confirmation
    for gateway_reference in (None, failed.gateway_reference, success.gateway_reference):
        v = await flutterwave.verify_payment(REF, gateway_reference)  # by tx_ref shows the first attempt
        assert (v.status, v.gateway_reference, v.amount) == (PaymentStatus.SUCCEEDED, success.gateway_reference,
                                                             45_000)
    assert len(fake.charges) == 1 and fake.flutterwave.attempt(REF, "successful") is None  # the link is done


async def test_the_link_ends_at_our_window(flutterwave, fake, clock):
    await flutterwave.initialize_payment(link(clock, minutes=30))
    assert not (await flutterwave.verify_payment(REF, None)).found  # no attempt yet: not paid yet
    fake.flutterwave.attempt(REF, "failed")
    clock.advance(30 * 60)
    assert fake.flutterwave.attempt(REF, "successful") is None  # session_duration is over
    ended = await flutterwave.expire_payment(REF, None)
    assert ended.status is PaymentStatus.FAILED and fake.charges == []


async def test_retries_exhausted_are_final_before_the_window_ends(flutterwave, fake, clock):
    await flutterwave.initialize_payment(link(clock))
    for _ in range(4):  # the first attempt and max_retry_attempt=3 retries
        fake.flutterwave.attempt(REF, "failed")
    assert (await flutterwave.verify_payment(REF, None)).status is PaymentStatus.FAILED
    assert fake.flutterwave.attempt(REF, "successful") is None


@pytest.mark.parametrize("fault", [server_error(503), timeout_before_commit(), timeout_after_commit()],
                         ids=["503", "timeout_before", "timeout_after"])
async def test_a_create_that_may_have_failed_is_looked_up_first(flutterwave, fake, clock, fault):
    fake.script("flutterwave.payments.create", fault)
    with pytest.raises(GatewayError) as info:
        await flutterwave.initialize_payment(link(clock))
    assert isinstance(info.value, GatewayTimeout) or info.value.retryable
    assert fake.received("flutterwave.verify_by_reference") == 1  # looked before anyone retries
    init = await resilient(flutterwave, clock).initialize_payment(link(clock))
    assert init.authorization_url and fake.charges == []  # a second link for the tx_ref moves no money


async def test_verify_faults_are_retried_or_unknown(flutterwave, fake, clock):
    await flutterwave.initialize_payment(link(clock))
    fake.flutterwave.attempt(REF, "successful")
    fake.script("flutterwave.verify_by_reference", rate_limited(1), server_error(500))
    assert (await resilient(flutterwave, clock).verify_payment(REF, None)).status is PaymentStatus.SUCCEEDED
    fake.script("flutterwave.verify_by_reference", malformed_json())
    with pytest.raises(GatewayTimeout):
        await resilient(flutterwave, clock).verify_payment(REF, None)


async def paid(flutterwave, fake, clock) -> str:
    await flutterwave.initialize_payment(link(clock))
    fake.flutterwave.attempt(REF, "failed")
    fake.flutterwave.attempt(REF, "successful")
    return (await flutterwave.verify_payment(REF, None)).gateway_reference


async def test_a_refund_not_completed_at_creation_is_followed_to_its_end(flutterwave, fake, clock):
    tx_id = await paid(flutterwave, fake, clock)
    out = await flutterwave.refund(refund())  # finds the successful attempt itself
    assert out.status is RefundStatus.PROCESSING and fake.refunds[0].reference == REF
    assert fake.flutterwave.refunds[int(out.gateway_refund_id)]["tx_id"] == int(tx_id)
    lookup = RefundLookup("rf_001", REF, tx_id, out.gateway_refund_id, 20_000, "KES")
    assert (await flutterwave.lookup_refund(lookup)).status is RefundStatus.PROCESSING
    fake.flutterwave.settle_refund(int(out.gateway_refund_id), "completed")
    done = await flutterwave.lookup_refund(lookup)
    assert (done.status, done.amount) == (RefundStatus.SUCCEEDED, 20_000)
    assert fake.refunds[0].amount == Decimal("200") and fake.refunds[0].refund_id == "rf_001"


async def test_a_refund_whose_answer_was_lost_is_found_by_our_id_and_never_resent(flutterwave, fake, clock):
    tx_id = await paid(flutterwave, fake, clock)
    fake.script("flutterwave.refunds.create", timeout_after_commit())
    with pytest.raises(GatewayTimeout):
        await resilient(flutterwave, clock).refund(refund(gateway_reference=tx_id))
    found = await flutterwave.lookup_refund(RefundLookup("rf_001", REF, tx_id, None, 20_000, "KES"))
    assert found.gateway_refund_id == fake.refunds[0].gateway_id and len(fake.refunds) == 1
    fake.script("flutterwave.refunds.create", server_error(503))
    with pytest.raises(GatewayError):
        await resilient(flutterwave, clock).refund(refund("rf_002", gateway_reference=tx_id, amount=1_000))
    assert fake.received("flutterwave.refunds.create") == 2 and len(fake.refunds) == 1  # no blind retry
