"""The Paystack adapter against the fake gateway: refund webhooks that carry no refund id are
resolved by our id in merchant_note, needs-attention is surfaced with its retry, a lost refund
answer is found rather than re-sent, and a page nothing can close reports a late success."""
from __future__ import annotations

import random

import pytest

from adapters.gateways.resilience import CircuitBreaker, ResilientGateway, RetryPolicy
from application.errors import GatewayError, GatewayTimeout
from application.ports.gateways import InitializePayment, RefundLookup, RefundPayment
from domain.payments import PaymentStatus, RefundStatus
from tests.reliability.fake_gateway import rate_limited, server_error, timeout_after_commit

REF = "pay_ref_ps_1"


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def order() -> InitializePayment:
    return InitializePayment(reference=REF, amount=850_000, currency="NGN", email="ada@example.com", phone=None,
                             callback_url="https://shop.example/cb", description="Order PP-3")


def refund(refund_id: str, amount: int) -> RefundPayment:
    return RefundPayment(refund_id=refund_id, reference=REF, gateway_reference=None, amount=amount, currency="NGN",
                         reason="requested_by_customer")


def lookup(refund_id: str, amount: int, gateway_refund_id: str | None = None) -> RefundLookup:
    return RefundLookup(refund_id, REF, None, gateway_refund_id, amount, "NGN")


async def paid(paystack, fake) -> None:
    await paystack.initialize_payment(order())
    fake.paystack.pay(REF)


async def test_refund_webhooks_without_an_id_are_resolved_by_our_id(paystack, fake):
    await paid(paystack, fake)
    first = await paystack.refund(refund("rf_001", 300_000))
    second = await paystack.refund(refund("rf_002", 300_000))  # the same amount: only our id tells them apart
    for gateway_id, status in ((first.gateway_refund_id, "processing"), (second.gateway_refund_id, "processed")):
        headers, body = fake.paystack.refund_event(int(gateway_id), status)
        assert paystack.verify_webhook_signature(headers, body, {})
        evt = paystack.parse_webhook_event(headers, body, {})
        assert (evt.reference, evt.refund_id, evt.gateway_refund_id, evt.refund_lookup) == (REF, None, None, True)
    one = await paystack.lookup_refund(lookup("rf_001", 300_000))
    two = await paystack.lookup_refund(lookup("rf_002", 300_000))
    assert (one.status, one.gateway_refund_id) == (RefundStatus.PROCESSING, first.gateway_refund_id)
    assert (two.status, two.gateway_refund_id) == (RefundStatus.SUCCEEDED, second.gateway_refund_id)
    assert await paystack.lookup_refund(lookup("rf_003", 300_000)) is None
    moved = sum(r.amount for r in fake.refunds if r.status == "processed")
    assert moved == 300_000 and [r.refund_id for r in fake.refunds] == ["rf_001", "rf_002"]


async def test_needs_attention_is_surfaced_and_retried_with_the_customers_details(paystack, fake):
    await paid(paystack, fake)
    accepted = await paystack.refund(refund("rf_001", 850_000))
    headers, body = fake.paystack.refund_event(int(accepted.gateway_refund_id), "needs-attention")
    evt = paystack.parse_webhook_event(headers, body, {})
    assert (evt.refund_needs_attention, evt.gateway_refund_id, evt.refund_status) == (
        True, accepted.gateway_refund_id, RefundStatus.PROCESSING)
    stuck = await paystack.lookup_refund(lookup("rf_001", 850_000, accepted.gateway_refund_id))
    assert stuck.needs_attention and "retry_with_customer_details" in stuck.error
    retried = await paystack.retry_refund_with_customer_details(
        accepted.gateway_refund_id, {"currency": "NGN", "account_number": "0123456789", "bank_id": "9"})
    assert (retried.status, retried.needs_attention) == (RefundStatus.PROCESSING, False)
    fake.paystack.refund_event(int(accepted.gateway_refund_id), "processed")
    assert (await paystack.lookup_refund(lookup("rf_001", 850_000))).status is RefundStatus.SUCCEEDED


async def test_a_lost_refund_answer_is_found_and_never_resent(paystack, fake, clock):
    await paid(paystack, fake)
    gw = ResilientGateway(paystack, CircuitBreaker("paystack", clock=clock), RetryPolicy(sleep=Sleeps()))
    fake.script("paystack.refunds.create", timeout_after_commit())
    with pytest.raises(GatewayTimeout):
        await gw.refund(refund("rf_001", 100_000))
    found = await gw.lookup_refund(lookup("rf_001", 100_000))
    assert found.gateway_refund_id == fake.refunds[0].gateway_id
    fake.script("paystack.refunds.create", server_error(503))
    with pytest.raises(GatewayError):
        await gw.refund(refund("rf_002", 100_000))
    assert fake.received("paystack.refunds.create") == 2 and len(fake.refunds) == 1


async def test_nothing_closes_the_page_so_a_late_success_is_reported(paystack, fake, clock):
    assert not paystack.can_expire
    await paystack.initialize_payment(order())
    clock.advance(3600)  # our window is over
    at_expiry = await paystack.expire_payment(REF, None)
    assert (at_expiry.status, at_expiry.raw_status) == (PaymentStatus.EXPIRED, "abandoned")  # ours ends
    fake.paystack.pay(REF, channel="bank_transfer")  # the customer pays later anyway
    late = await paystack.verify_payment(REF, None)
    assert (late.status, late.amount, late.payment_method) == (PaymentStatus.SUCCEEDED, 850_000, "bank_transfer")
    assert len(fake.charges) == 1  # money held against the order: the application's to record


async def test_unknown_reference_and_transient_faults(paystack, fake, clock):
    assert not (await paystack.verify_payment("never_initialized", None)).found
    await paid(paystack, fake)
    fake.script("paystack.verify", rate_limited(1), server_error(502))
    before, sleeps = fake.received("paystack.verify"), Sleeps()
    gw = ResilientGateway(paystack, CircuitBreaker("paystack", clock=clock),
                          RetryPolicy(sleep=sleeps, rng=random.Random(0)))
    assert (await gw.verify_payment(REF, None)).status is PaymentStatus.SUCCEEDED
    assert sleeps[0] >= 1 and fake.received("paystack.verify") - before == 3
    duplicate = await paystack.initialize_payment(order())  # the same reference again: no second charge
    assert duplicate.status is PaymentStatus.SUCCEEDED and len(fake.charges) == 1
