"""A gateway's circuit breaker logs its transitions, not its calls: one line when it opens, one when
it closes, a counter, no traceback, however many calls fail or are refused in between."""
from __future__ import annotations

import logging

import pytest

from adapters.gateways.resilience import CLOSED, OPEN, CircuitBreaker
from adapters.metrics import Metrics
from adapters.system import FakeClock
from application.errors import GatewayError, GatewayUnavailable

CALLS = 50


async def fail():
    raise GatewayError("paystack: HTTP 503", retryable=True, http_status=503)


async def ok():
    return "ok"


def messages(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


async def test_an_open_breaker_is_one_line_down_and_one_back(caplog):
    caplog.set_level(logging.INFO)
    clock, metrics = FakeClock(), Metrics()
    breaker = CircuitBreaker("paystack", failure_threshold=3, reset_timeout=10, clock=clock, metrics=metrics)
    refused = 0
    for _ in range(CALLS):
        try:
            await breaker.call(fail)
        except GatewayUnavailable:
            refused += 1  # open: refused without a call
        except GatewayError:
            pass
    assert breaker.state == OPEN and refused == CALLS - 3
    clock.advance(10)
    with pytest.raises(GatewayError):
        await breaker.call(fail)  # the probe fails: open again, within the 30 s reminder interval
    assert messages(caplog, "dependency still down") == []
    clock.advance(10)
    assert await breaker.call(ok) == "ok" and breaker.state == CLOSED
    for _ in range(CALLS):
        await breaker.call(ok)
    down, back = messages(caplog, "dependency down: gateway paystack"), messages(caplog, "dependency back")
    assert len(down) == 1 and "circuit open: calls refused for 10s" in down[0] and "HTTP 503" in down[0]
    assert back == ["dependency back: gateway paystack after 20.0s and 2 failures"]  # opening, the failed probe
    assert [r for r in caplog.records if r.exc_info] == [] and "Traceback" not in caplog.text
    assert metrics.registry.get_sample_value("payport_dependency_outages_total",
                                             {"dependency": "gateway paystack"}) == 1


async def test_a_long_outage_is_reminded_every_30_seconds(caplog):
    clock = FakeClock()
    breaker = CircuitBreaker("paystack", failure_threshold=1, reset_timeout=10, clock=clock)
    for _ in range(9):  # a failed probe every 10 s for 90 s
        with pytest.raises(GatewayError):
            await breaker.call(fail)
        clock.advance(10)
    reminders = messages(caplog, "dependency still down: gateway paystack")
    assert len(messages(caplog, "dependency down")) == 1 and len(reminders) == 2  # at 30 s and 60 s
    assert "2 failures not logged" in reminders[0]


async def test_failures_below_the_threshold_log_nothing(caplog):
    breaker = CircuitBreaker("stripe", failure_threshold=5, clock=FakeClock())
    for _ in range(4):
        with pytest.raises(GatewayError):
            await breaker.call(fail)
    await breaker.call(ok)
    assert caplog.records == []
