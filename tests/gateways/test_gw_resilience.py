"""Circuit breaker, retry with backoff + jitter honouring Retry-After, and the resilient wrapper.
Fake clock and fake sleep throughout: nothing really waits."""
from __future__ import annotations

import asyncio
import random

import pytest
from gateway_test_support import payment, refund_request

from adapters.gateways.resilience import (CLOSED, HALF_OPEN, OPEN, CircuitBreaker, ResilientGateway,
                                          RetryPolicy, retry_call)
from application.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from application.ports.gateways import InitializedPayment, RefundOutcome, VerifiedPayment
from domain.payments import PaymentStatus, RefundStatus


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Scripted:
    """A fake gateway answering each call with the next scripted outcome (exception or value)."""

    name, currencies, weak_webhook_auth = "fake", frozenset({"NGN"}), False

    def __init__(self, *outcomes, idempotent_refunds: bool = False) -> None:
        self.outcomes, self.calls = list(outcomes), 0
        self.idempotent_refunds = idempotent_refunds

    async def _next(self):
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def initialize_payment(self, request):
        return await self._next()

    async def verify_payment(self, reference, gateway_reference):
        return await self._next()

    async def refund(self, request):
        return await self._next()


def err503(retry_after=None):
    return GatewayError("HTTP 503", retryable=True, retry_after=retry_after)


OK_INIT = InitializedPayment(PaymentStatus.REQUIRES_ACTION, None, "https://pay")


async def fail(exc):
    raise exc


async def ok():
    return "ok"


async def test_breaker_opens_rejects_then_half_open_single_probe(clock, metrics):
    breaker = CircuitBreaker("paystack", failure_threshold=3, reset_timeout=30, clock=clock, metrics=metrics)
    gauge = lambda: metrics.registry.get_sample_value("payport_gateway_breaker_state", {"gateway": "paystack"})  # noqa: E731
    for _ in range(2):
        with pytest.raises(GatewayError):
            await breaker.call(lambda: fail(err503()))
    assert breaker.state == CLOSED
    await breaker.call(ok)  # a success resets the consecutive count
    for _ in range(3):
        with pytest.raises(GatewayError):
            await breaker.call(lambda: fail(GatewayTimeout("t")))
    assert breaker.state == OPEN and gauge() == 2
    called = []
    with pytest.raises(GatewayUnavailable):
        await breaker.call(lambda: called.append(1) or ok())
    assert not called and breaker.snapshot()["retry_in_seconds"] == 30
    clock.advance(30)
    assert breaker.state == HALF_OPEN

    release = asyncio.Event()

    async def slow_probe():
        await release.wait()
        return "probed"

    probe = asyncio.create_task(breaker.call(slow_probe))
    await asyncio.sleep(0)
    assert gauge() == 1
    with pytest.raises(GatewayUnavailable):  # only one probe at a time
        await breaker.call(ok)
    release.set()
    assert await probe == "probed" and breaker.state == CLOSED and gauge() == 0


async def test_failed_probe_reopens_and_refusals_do_not_count(clock):
    breaker = CircuitBreaker("stripe", failure_threshold=1, reset_timeout=10, clock=clock)
    with pytest.raises(GatewayError):
        await breaker.call(lambda: fail(err503()))
    clock.advance(10)
    with pytest.raises(GatewayUnavailable):
        await breaker.call(lambda: fail(GatewayUnavailable("refused", retryable=True)))
    assert breaker.state == OPEN
    clock.advance(10)
    with pytest.raises(GatewayError):
        await breaker.call(lambda: fail(GatewayError("card declined", retryable=False)))
    assert breaker.state == CLOSED  # the gateway answered: healthy
    for _ in range(5):
        with pytest.raises(GatewayError):
            await breaker.call(lambda: fail(GatewayError("bad request")))
    assert breaker.state == CLOSED


async def test_retry_counts_and_full_jitter_backoff():
    sleeps, attempts = Sleeps(), []

    async def flaky():
        attempts.append(1)
        if len(attempts) < 4:
            raise err503()
        return "done"

    assert await retry_call(flaky, attempts=4, base_delay=1, max_delay=3, sleep=sleeps,
                            rng=random.Random(7)) == "done"
    assert len(attempts) == 4 and len(sleeps) == 3
    for n, delay in enumerate(sleeps):
        assert 0 <= delay <= min(3, 1 * 2 ** n)
    sleeps.clear()
    with pytest.raises(GatewayError):
        await retry_call(lambda: fail(err503()), attempts=3, base_delay=1, max_delay=3, sleep=sleeps,
                         rng=random.Random(1))
    assert len(sleeps) == 2


async def test_retry_after_is_honoured_or_gives_up_when_too_long():
    sleeps = Sleeps()
    outcomes = [err503(retry_after=4.5), "ok"]

    async def call():
        o = outcomes.pop(0)
        if isinstance(o, Exception):
            raise o
        return o

    assert await retry_call(call, attempts=3, base_delay=0.1, max_delay=1, sleep=sleeps,
                            rng=random.Random(0)) == "ok"
    assert sleeps == [4.5]
    sleeps.clear()
    with pytest.raises(GatewayError):
        await retry_call(lambda: fail(err503(retry_after=120)), attempts=3, base_delay=0.1, max_delay=1,
                         sleep=sleeps, rng=random.Random(0), max_retry_after=10)
    assert sleeps == []


@pytest.mark.parametrize("exc", [GatewayTimeout("sent, no answer"), GatewayError("declined"),
                                 GatewayUnavailable("circuit open", retryable=False)])
async def test_never_retried(exc):
    calls, sleeps = [], Sleeps()

    async def call():
        calls.append(1)
        raise exc

    with pytest.raises(type(exc)):
        await retry_call(call, attempts=5, base_delay=0.1, max_delay=1, sleep=sleeps, rng=random.Random(0))
    assert len(calls) == 1 and sleeps == []


async def test_connection_refused_is_retried():
    inner = Scripted(GatewayUnavailable("refused", retryable=True), OK_INIT)
    gw = ResilientGateway(inner, CircuitBreaker("fake"), RetryPolicy(sleep=Sleeps(), rng=random.Random(0)))
    assert await gw.initialize_payment(payment()) == OK_INIT and inner.calls == 2


async def test_resilient_gateway_initialize_timeout_propagates_unretried(clock):
    inner = Scripted(GatewayTimeout("unknown outcome"), OK_INIT)
    gw = ResilientGateway(inner, CircuitBreaker("fake", clock=clock), RetryPolicy(sleep=Sleeps()))
    with pytest.raises(GatewayTimeout):
        await gw.initialize_payment(payment())
    assert inner.calls == 1


async def test_resilient_gateway_retries_verify_and_idempotent_refunds_only(clock):
    verified = VerifiedPayment(PaymentStatus.SUCCEEDED, 100, "NGN", "x", "success")
    inner = Scripted(err503(), err503(), verified)
    gw = ResilientGateway(inner, CircuitBreaker("fake", clock=clock), RetryPolicy(sleep=Sleeps()))
    assert await gw.verify_payment("r", None) == verified and inner.calls == 3

    refunded = RefundOutcome(RefundStatus.PROCESSING, "re_1")
    inner = Scripted(err503(), refunded)
    gw = ResilientGateway(inner, CircuitBreaker("fake", clock=clock), RetryPolicy(sleep=Sleeps()))
    with pytest.raises(GatewayError):
        await gw.refund(refund_request("x"))
    assert inner.calls == 1  # a non-idempotent refund is never repeated blindly

    inner = Scripted(err503(), refunded, idempotent_refunds=True)
    gw = ResilientGateway(inner, CircuitBreaker("fake", clock=clock), RetryPolicy(sleep=Sleeps()))
    assert await gw.refund(refund_request("x")) == refunded and inner.calls == 2


async def test_open_breaker_stops_retries_and_answers_unavailable(clock):
    inner = Scripted(*[err503()] * 10)
    breaker = CircuitBreaker("fake", failure_threshold=2, reset_timeout=60, clock=clock)
    gw = ResilientGateway(inner, breaker, RetryPolicy(attempts=5, sleep=Sleeps()))
    with pytest.raises(GatewayUnavailable):
        await gw.verify_payment("r", None)
    assert inner.calls == 2 and gw.state == OPEN and gw.health()["state"] == OPEN
    with pytest.raises(GatewayUnavailable):
        await gw.initialize_payment(payment())
    assert inner.calls == 2
