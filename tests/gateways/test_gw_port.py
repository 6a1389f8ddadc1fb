"""The port's new calls through the resilient wrapper and the sandbox: expire, refund lookup,
the callback's gateway reference, "not found", and an open breaker that is never an answer."""
from __future__ import annotations

import random

import pytest
from gateway_test_support import payment, refund_request

from adapters.gateways.resilience import CircuitBreaker, ResilientGateway, RetryPolicy
from adapters.gateways.sandbox import SandboxGateway
from adapters.memory.infrastructure import MemoryCache
from application.errors import GatewayError, GatewayUnavailable
from application.ports.gateways import RefundLookup, RefundOutcome, VerifiedPayment
from domain.payments import PaymentStatus, RefundStatus


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Inner:
    name, currencies, weak_webhook_auth, idempotent_refunds, can_expire = "fake", frozenset(), False, False, True

    def __init__(self, *outcomes):
        self.outcomes, self.calls = list(outcomes), []

    async def _next(self, call):
        self.calls.append(call)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def expire_payment(self, reference, gateway_reference):
        return await self._next("expire")

    async def lookup_refund(self, request):
        return await self._next("lookup")

    def callback_gateway_reference(self, params):
        return params.get("session_id")


def err503():
    return GatewayError("HTTP 503", retryable=True)


EXPIRED = VerifiedPayment(PaymentStatus.EXPIRED, None, None, "cs_1", "expired/unpaid")
LOOKUP = RefundLookup("rf_1", "ref", "cs_1", None, 100, "USD")


async def test_expire_and_lookup_are_retried_through_the_breaker(clock):
    inner = Inner(err503(), EXPIRED, err503(), RefundOutcome(RefundStatus.SUCCEEDED, "re_1"))
    gw = ResilientGateway(inner, CircuitBreaker("fake", clock=clock), RetryPolicy(sleep=Sleeps(), rng=random.Random(0)))
    assert gw.can_expire
    assert await gw.expire_payment("ref", "cs_1") == EXPIRED
    assert (await gw.lookup_refund(LOOKUP)).status is RefundStatus.SUCCEEDED
    assert inner.calls == ["expire", "expire", "lookup", "lookup"]
    assert gw.callback_gateway_reference({"session_id": "cs_1"}) == "cs_1"


async def test_an_open_breaker_is_retryable_later_never_a_refusal(clock):
    breaker = CircuitBreaker("fake", failure_threshold=1, reset_timeout=30, clock=clock)
    with pytest.raises(GatewayError):
        await breaker.call(lambda: _raise(err503()))
    clock.advance(10)
    sleeps, inner = Sleeps(), Inner()
    gw = ResilientGateway(inner, breaker, RetryPolicy(attempts=5, sleep=sleeps))
    with pytest.raises(GatewayUnavailable) as err:
        await gw.lookup_refund(LOOKUP)
    assert err.value.retryable and err.value.retry_after == 20 and err.value.details["circuit_open"]
    assert sleeps == [] and inner.calls == []  # nothing sent, nothing waited for


async def _raise(exc):
    raise exc


async def test_the_sandbox_expires_a_pending_page_and_reports_a_paid_one(clock):
    sandbox = SandboxGateway(MemoryCache(clock), "secret", "http://pay.test", clock)
    assert sandbox.can_expire
    missing = await sandbox.verify_payment("nope", None)
    assert (missing.found, missing.status) == (False, PaymentStatus.REQUIRES_PAYMENT_METHOD)
    await sandbox.initialize_payment(payment("r1", amount=500, currency="USD"))
    assert (await sandbox.expire_payment("r1", None)).status is PaymentStatus.EXPIRED
    await sandbox.settle("r1", approve=True)  # Approve on the closed page does nothing
    assert (await sandbox.verify_payment("r1", None)).status is PaymentStatus.EXPIRED

    await sandbox.initialize_payment(payment("r2", amount=500, currency="USD"))
    await sandbox.settle("r2", approve=True)
    assert (await sandbox.expire_payment("r2", None)).status is PaymentStatus.SUCCEEDED
    request = RefundLookup("rf_001", "r2", None, None, 100, "USD")
    assert await sandbox.lookup_refund(request) is None
    await sandbox.refund(refund_request(None, amount=100, currency="USD", reference="r2"))
    assert (await sandbox.lookup_refund(request)).status is RefundStatus.SUCCEEDED
