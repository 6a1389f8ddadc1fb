"""Resilience around gateway calls: circuit breaker, retry with backoff + full jitter, and a
``PaymentGateway`` wrapper that applies them only where a repeat cannot charge or refund twice.

A ``GatewayTimeout`` (sent, no answer) is never retried here: its outcome is unknown and must be
settled by a status query, not by sending again.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import attrs

from adapters.system import SystemClock
from application.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from application.outages import OutageTracker
from application.ports.gateways import (InitializedPayment, InitializePayment, PaymentGateway,
                                        RefundLookup, RefundOutcome, RefundPayment, VerifiedPayment)
from domain.webhooks import GatewayEvent

log = logging.getLogger("payport.gateways")
T = TypeVar("T")
CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
_GAUGE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


def counts_as_failure(exc: BaseException) -> bool:
    """Trouble at the gateway (no answer, 429, 5xx), not a refusal of this particular request, nor
    the answer to a repeat of an earlier call (a 409 "key in use" comes from a healthy gateway)."""
    if isinstance(exc, GatewayError) and exc.details.get("repeat_failure"):
        return False
    return isinstance(exc, GatewayTimeout | GatewayUnavailable) or (
        isinstance(exc, GatewayError) and exc.retryable)


class CircuitBreaker:
    """Closed -> open after ``failure_threshold`` consecutive failures; after ``reset_timeout``
    seconds one probe call is let through (half-open): success closes, failure re-opens.

    Opening and closing are logged by ``outages`` (one line when the breaker opens, rate-limited
    reminders when a probe re-opens it, one line when it closes), counted in
    ``metrics.dependency_outages`` as ``gateway <name>``; the calls it refuses log nothing."""

    def __init__(self, name: str, failure_threshold: int = 5, reset_timeout: float = 30.0,
                 clock: Any = None, metrics: Any = None, outages: OutageTracker | None = None) -> None:
        self.name, self.failure_threshold, self.reset_timeout = name, failure_threshold, reset_timeout
        self.clock = clock or SystemClock()
        self.metrics = metrics
        self.dependency = f"gateway {name}"
        on_down = (lambda dependency: metrics.dependency_outages.labels(dependency=dependency).inc()) \
            if metrics is not None else None
        self.outages = outages or OutageTracker(log, on_down=on_down, clock=self._now)
        self._state, self.failures, self._opened_at, self._probing = CLOSED, 0, 0.0, False
        self._set(CLOSED)

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _set(self, state: str) -> None:
        self._state = state
        if self.metrics is not None:
            self.metrics.breaker_state.labels(self.name).set(_GAUGE[state])

    @property
    def state(self) -> str:
        if self._state == OPEN and self._now() - self._opened_at >= self.reset_timeout:
            return HALF_OPEN
        return self._state

    def snapshot(self) -> dict[str, Any]:
        """For the admin gateway-health endpoint."""
        retry_in = max(0.0, self._opened_at + self.reset_timeout - self._now()) if self._state == OPEN else 0.0
        return {"gateway": self.name, "state": self.state, "consecutive_failures": self.failures,
                "retry_in_seconds": round(retry_in, 3)}

    def _acquire(self) -> None:
        if self.state == CLOSED:
            return
        if self.state == HALF_OPEN and not self._probing:
            self._set(HALF_OPEN)
            self._probing = True
            return
        # Nothing was sent: the call may be repeated once the breaker lets calls through again
        # (retryable, with when), and it must never be read as the gateway's answer.
        wait = max(0.0, self._opened_at + self.reset_timeout - self._now()) if self._state == OPEN else 0.0
        raise GatewayUnavailable(f"{self.name}: circuit open", retryable=True,
                                 retry_after=wait or self.reset_timeout, gateway=self.name,
                                 circuit_open=True)

    def _success(self) -> None:
        self.failures, self._probing = 0, False
        self._set(CLOSED)
        self.outages.recovered(self.dependency)  # nothing to do unless it was open

    def _failure(self, exc: BaseException) -> None:
        self.failures += 1
        if self._probing or self.failures >= self.failure_threshold:
            self._opened_at = self._now()
            self._set(OPEN)
            self.outages.failed(self.dependency, exc, f"circuit open: calls refused for {self.reset_timeout:g}s")
        self._probing = False

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        self._acquire()
        try:
            result = await fn()
        except BaseException as exc:
            if counts_as_failure(exc):
                self._failure(exc)
            elif isinstance(exc, Exception):
                self._success()  # the gateway answered (e.g. a 4xx refusal): it is healthy
            else:
                self._probing = False  # cancelled: release the probe slot, learn nothing
            raise
        self._success()
        return result


def _retryable(exc: BaseException) -> bool:
    return (isinstance(exc, GatewayError) and exc.retryable and not isinstance(exc, GatewayTimeout)
            and not exc.details.get("circuit_open"))  # the breaker refused: waiting here is no use


async def retry_call(fn: Callable[[], Awaitable[T]], *, attempts: int = 3, base_delay: float = 0.2,
                     max_delay: float = 2.0, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                     rng: random.Random | None = None, max_retry_after: float = 10.0) -> T:
    """Call ``fn`` up to ``attempts`` times. Only ``GatewayError.retryable`` (never a timeout) is
    retried, after ``uniform(0, min(max_delay, base_delay * 2**n))`` seconds or the gateway's
    ``Retry-After`` if longer; a ``Retry-After`` above ``max_retry_after`` is not waited for."""
    rng = rng or random.Random()
    for attempt in range(attempts):
        try:
            return await fn()
        except GatewayError as exc:
            if not _retryable(exc) or attempt + 1 >= attempts:
                raise
            delay = rng.uniform(0, min(max_delay, base_delay * 2 ** attempt))
            if exc.retry_after is not None:
                if exc.retry_after > max_retry_after:
                    raise
                delay = max(delay, exc.retry_after)
            await sleep(delay)
    raise AssertionError("attempts must be >= 1")


@attrs.frozen
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 2.0
    max_retry_after: float = 10.0
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    rng: random.Random | None = None

    async def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        return await retry_call(fn, attempts=self.attempts, base_delay=self.base_delay,
                                max_delay=self.max_delay, sleep=self.sleep, rng=self.rng,
                                max_retry_after=self.max_retry_after)


class ResilientGateway:
    """A ``PaymentGateway`` behind a circuit breaker, retrying only idempotent calls:
    ``verify_payment``, ``expire_payment`` and ``lookup_refund`` always, ``initialize_payment``
    (idempotent by our reference; a timeout still propagates), ``refund`` only when the adapter
    says its refunds are idempotent. Adapter-specific calls are reached through ``inner``."""

    def __init__(self, inner: PaymentGateway, breaker: CircuitBreaker,
                 retry_policy: RetryPolicy | None = None) -> None:
        self.inner, self.breaker = inner, breaker
        self.retry_policy = retry_policy or RetryPolicy()
        self.name, self.currencies = inner.name, inner.currencies
        self.weak_webhook_auth = inner.weak_webhook_auth
        self.idempotent_refunds = getattr(inner, "idempotent_refunds", False)
        self.can_expire = getattr(inner, "can_expire", False)
        self.finds_by_reference = getattr(inner, "finds_by_reference", True)
        self.pushes_to_payer = getattr(inner, "pushes_to_payer", False)
        if hasattr(inner, "retry_refund_with_customer_details"):  # Paystack's needs-attention refunds
            self.retry_refund_with_customer_details = self._retry_refund_with_customer_details

    @property
    def state(self) -> str:
        return self.breaker.state

    def health(self) -> dict[str, Any]:
        return self.breaker.snapshot()

    async def _guarded(self, fn: Callable[[], Awaitable[T]], retry: bool) -> T:
        once = lambda: self.breaker.call(fn)  # noqa: E731
        return await (self.retry_policy.run(once) if retry else once())

    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment:
        return await self._guarded(lambda: self.inner.initialize_payment(request), retry=True)

    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        return await self._guarded(lambda: self.inner.verify_payment(reference, gateway_reference), True)

    async def expire_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        return await self._guarded(lambda: self.inner.expire_payment(reference, gateway_reference), True)

    async def refund(self, request: RefundPayment) -> RefundOutcome:
        return await self._guarded(lambda: self.inner.refund(request), retry=self.idempotent_refunds)

    async def lookup_refund(self, request: RefundLookup) -> RefundOutcome | None:
        return await self._guarded(lambda: self.inner.lookup_refund(request), retry=True)

    async def _retry_refund_with_customer_details(self, gateway_refund_id: str,
                                                  account: Mapping[str, str]) -> RefundOutcome:
        """Through the breaker, never retried here: a person sent it, and sends it again if need be."""
        return await self._guarded(
            lambda: self.inner.retry_refund_with_customer_details(gateway_refund_id, account), retry=False)

    def callback_gateway_reference(self, params: Mapping[str, str]) -> str | None:
        return self.inner.callback_gateway_reference(params)

    def verify_webhook_signature(self, headers: Mapping[str, str], body: bytes,
                                 params: Mapping[str, str]) -> bool:
        return self.inner.verify_webhook_signature(headers, body, params)

    def parse_webhook_event(self, headers: Mapping[str, str], body: bytes,
                            params: Mapping[str, str]) -> GatewayEvent:
        return self.inner.parse_webhook_event(headers, body, params)
