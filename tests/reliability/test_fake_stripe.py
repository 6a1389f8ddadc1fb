"""The Stripe adapter against the fake gateway: each fault raises the right error within the
deadline, a create is never committed twice (replays find the first), refunds are never sent
twice (Idempotency-Key, then our id in the metadata once keys are pruned), and the hosted page
stops taking money at our window."""
from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta

import pytest

from adapters.gateways.resilience import CircuitBreaker, ResilientGateway, RetryPolicy
from application.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from application.ports.gateways import InitializePayment, RefundLookup, RefundPayment, is_repeat_failure
from domain.payments import PaymentStatus, RefundStatus
from tests.reliability.conftest import DEADLINE
from tests.reliability.fake_gateway import (delay, key_expired, key_in_use, malformed_json, rate_limited,
                                            server_error, slow_body, timeout_after_commit, timeout_before_commit)

SLACK = 0.5  # scheduling slack over the client's total deadline


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def checkout(clock, reference="pay_ref_001", minutes: float | None = 45) -> InitializePayment:
    return InitializePayment(reference=reference, amount=7999, currency="USD", email="ada@example.com",
                             phone=None, callback_url="https://shop.example/cb", description="Order PP-1",
                             expires_at=clock.now() + timedelta(minutes=minutes) if minutes else None)


def refund(refund_id="rf_001", amount=3999, session="cs") -> RefundPayment:
    return RefundPayment(refund_id=refund_id, reference="pay_ref_001", gateway_reference=session, amount=amount,
                         currency="USD", reason="requested_by_customer")


async def paid_session(stripe, fake, clock) -> str:
    init = await stripe.initialize_payment(checkout(clock))
    assert fake.stripe.pay(init.gateway_reference)
    return init.gateway_reference


async def timed(call):
    started = time.perf_counter()
    try:
        return await call
    finally:
        assert time.perf_counter() - started < DEADLINE.total + SLACK, "a call outlived its deadline"


# -- initialization under each fault ------------------------------------------------------------------------

@pytest.mark.parametrize(("fault", "error", "committed"), [
    (delay(0.2), None, 1),
    (timeout_before_commit(), GatewayTimeout, 0),
    (timeout_after_commit(), GatewayTimeout, 1),
    (server_error(502), GatewayError, 0),
    (server_error(503), GatewayError, 0),
    (rate_limited(2), GatewayError, 0),
    (malformed_json(), GatewayTimeout, 1),
    (slow_body(2.0), GatewayTimeout, 1),
    (key_in_use(), GatewayError, 0),
], ids=lambda v: getattr(v, "kind", None) or getattr(v, "__name__", str(v)))
async def test_create_under_each_fault_then_the_replay_finds_one_session(stripe, fake, clock, fault, error,
                                                                        committed):
    fake.script("stripe.checkout.create", fault)
    request = checkout(clock)
    if error is None:
        first = await timed(stripe.initialize_payment(request))
    else:
        with pytest.raises(error) as info:
            await timed(stripe.initialize_payment(request))
        if fault.kind in ("status", "rate_limited"):
            assert info.value.retryable
        if fault.kind == "rate_limited":
            assert info.value.retry_after == 2
        if fault.kind == "key_in_use":
            assert is_repeat_failure(info.value) and info.value.retryable
    assert len(fake.stripe.sessions) == committed
    replay = await timed(stripe.initialize_payment(request))  # the worker's recovery: the same create
    assert len(fake.stripe.sessions) == 1, "a replay created a second session"
    if error is None:
        assert replay.gateway_reference == first.gateway_reference


async def test_a_stored_500_is_replayed_until_stripe_prunes_the_key(stripe, fake, clock):
    """Stripe stores the first result of an endpoint that ran, a 5xx too: the same create keeps
    answering 500 (nothing was created) until the key is pruned."""
    fake.script("stripe.checkout.create", server_error(500, stored=True))
    request = checkout(clock, minutes=None)
    for _ in range(2):
        with pytest.raises(GatewayError) as info:
            await stripe.initialize_payment(request)
        assert info.value.retryable and info.value.details["http_status"] == 500
    assert not fake.stripe.sessions
    clock.advance(24 * 3600)
    assert (await stripe.initialize_payment(request)).gateway_reference in fake.stripe.sessions


async def test_transient_faults_are_retried_by_the_resilient_wrapper(stripe, fake, clock):
    fake.script("stripe.checkout.create", rate_limited(1), server_error(502))
    sleeps = Sleeps()
    gw = ResilientGateway(stripe, CircuitBreaker("stripe", clock=clock), RetryPolicy(sleep=sleeps, rng=random.Random(0)))
    init = await gw.initialize_payment(checkout(clock))
    assert init.gateway_reference in fake.stripe.sessions and len(fake.stripe.sessions) == 1
    assert sleeps[0] >= 1 and fake.received("stripe.checkout.create") == 3


async def test_a_window_under_stripes_minimum_and_its_replay(stripe, fake, clock):
    request = checkout(clock, minutes=10)
    fake.script("stripe.checkout.create", None, timeout_after_commit())  # 1st candidate refused, 2nd lost
    with pytest.raises(GatewayTimeout):
        await stripe.initialize_payment(request)
    clock.advance(300)
    init = await stripe.initialize_payment(request)  # 1st candidate: idempotency_error; 2nd: the replay
    assert list(fake.stripe.sessions) == [init.gateway_reference]
    session = fake.stripe.sessions[init.gateway_reference]
    assert session["expires_at"] == int((request.expires_at + timedelta(minutes=31)).timestamp())


# -- the page's life ----------------------------------------------------------------------------------------

async def test_the_page_closes_at_our_window_and_a_late_payment_is_refused(stripe, fake, clock):
    init = await stripe.initialize_payment(checkout(clock, minutes=40))
    fake.stripe.pay_after(init.gateway_reference, 41 * 60)
    clock.advance(40 * 60)
    closed = await stripe.expire_payment("pay_ref_001", init.gateway_reference)
    assert closed.status is PaymentStatus.EXPIRED
    clock.advance(60)
    fake.stripe.tick()
    assert fake.charges == [] and fake.stripe.sessions[init.gateway_reference]["status"] == "expired"


async def test_a_payment_that_beat_the_expiry_is_reported(stripe, fake, clock):
    init = await stripe.initialize_payment(checkout(clock, minutes=40))
    clock.advance(39 * 60)
    fake.stripe.pay(init.gateway_reference)
    clock.advance(60)
    late = await stripe.expire_payment("pay_ref_001", init.gateway_reference)
    assert (late.status, late.amount, late.payment_method) == (PaymentStatus.SUCCEEDED, 7999, "card")
    assert len(fake.charges) == 1


async def test_an_unknown_session_is_not_found(stripe, fake):
    v = await stripe.verify_payment("pay_ref_001", "cs_test_unknown")
    assert (v.found, v.status) == (False, PaymentStatus.REQUIRES_PAYMENT_METHOD)


# -- refunds ---------------------------------------------------------------------------------------------

async def test_a_refund_whose_answer_was_lost_is_found_not_sent_again(stripe, fake, clock):
    session = await paid_session(stripe, fake, clock)
    fake.script("stripe.refunds.create", timeout_after_commit())
    with pytest.raises(GatewayTimeout):
        await timed(stripe.refund(refund(session=session)))
    again = await stripe.refund(refund(session=session))  # the worker's retry
    assert again.status is RefundStatus.PROCESSING and len(fake.refunds) == 1
    assert fake.received("stripe.refunds.create") == 1
    found = await stripe.lookup_refund(RefundLookup("rf_001", "pay_ref_001", session, None, 3999, "USD"))
    assert found.gateway_refund_id == again.gateway_refund_id == fake.refunds[0].gateway_id


async def test_concurrent_repeats_of_one_refund_make_one_refund(stripe, fake, clock):
    session = await paid_session(stripe, fake, clock)
    fake.script("stripe.refunds.create", delay(0.3))

    async def wait(seconds: float) -> None:
        await asyncio.sleep(0.4)

    gw = ResilientGateway(stripe, CircuitBreaker("stripe", clock=clock), RetryPolicy(sleep=wait))
    first, second = await asyncio.gather(gw.refund(refund(session=session)), gw.refund(refund(session=session)))
    assert first.gateway_refund_id == second.gateway_refund_id and len(fake.refunds) == 1
    assert fake.received("stripe.refunds.create") == 2  # the second met 409 in use, then found the first


async def test_after_the_key_is_pruned_our_id_still_stops_a_second_refund(stripe, fake, clock):
    session = await paid_session(stripe, fake, clock)
    first = await stripe.refund(refund(session=session))
    clock.advance(25 * 3600)  # Stripe has forgotten the Idempotency-Key
    again = await stripe.refund(refund(session=session))
    assert again.gateway_refund_id == first.gateway_refund_id and len(fake.refunds) == 1
    assert fake.received("stripe.refunds.create") == 1
    # a refund for more than is left, once its key is pruned: a refusal a repeat gets, never "failed"
    fake.script("stripe.refunds.create", key_expired())
    with pytest.raises(GatewayError) as info:
        await stripe.refund(refund("rf_002", amount=5000, session=session))
    assert is_repeat_failure(info.value) and info.value.details["provider_code"] == "amount_too_large"
    assert len(fake.refunds) == 1


async def test_a_refund_accepted_then_an_outage_settles_only_by_lookup(stripe, fake, clock):
    """Issue 14's sequence: accepted (pending), the breaker opens on 503s, success is learnt by lookup."""
    session = await paid_session(stripe, fake, clock)
    gw = ResilientGateway(stripe, CircuitBreaker("stripe", failure_threshold=2, reset_timeout=30, clock=clock),
                          RetryPolicy(attempts=1))
    accepted = await gw.refund(refund(session=session))
    assert accepted.status is RefundStatus.PROCESSING
    lookup = RefundLookup("rf_001", "pay_ref_001", session, accepted.gateway_refund_id, 3999, "USD")
    fake.script("stripe.refunds.retrieve", server_error(503), server_error(503))
    for _ in range(2):
        with pytest.raises(GatewayError):
            await gw.lookup_refund(lookup)
    with pytest.raises(GatewayUnavailable) as info:  # breaker open: retryable later, not an answer
        await gw.lookup_refund(lookup)
    assert info.value.retryable and info.value.details["circuit_open"]
    fake.stripe.settle_refund(accepted.gateway_refund_id, "succeeded")
    clock.advance(30)
    done = await gw.lookup_refund(lookup)
    assert done.status is RefundStatus.SUCCEEDED
    moved = sum(r.amount for r in fake.refunds if r.status == "succeeded")
    assert moved == 3999 and fake.received("stripe.refunds.create") == 1
