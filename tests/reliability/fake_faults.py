"""The fake gateway's machinery: scripted faults, what it committed, and the order of calls."""
from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

Handler = Callable[[], Awaitable[tuple[int, Any]]]


@attrs.frozen
class Fault:
    """What to do to one call. ``kind``: see the constructors below."""

    kind: str
    seconds: float = 0.0
    status: int = 500
    retry_after: int | None = None
    stored: bool = False  # Stripe: the endpoint ran, so its idempotency layer stores this 5xx


def delay(seconds: float) -> Fault:
    """Answer normally, ``seconds`` late (inside the endpoint: a concurrent same-key call sees 409)."""
    return Fault("delay", seconds)


def timeout_before_commit(seconds: float = 2.0) -> Fault:
    """Hold the call past the client's deadline; nothing is committed."""
    return Fault("timeout_before", seconds)


def timeout_after_commit(seconds: float = 2.0) -> Fault:
    """Commit, then hold the answer past the client's deadline."""
    return Fault("timeout_after", seconds)


def server_error(status: int = 500, stored: bool = False) -> Fault:
    return Fault("status", status=status, stored=stored)


def rate_limited(retry_after: int = 1) -> Fault:
    return Fault("rate_limited", status=429, retry_after=retry_after)


def malformed_json() -> Fault:
    """Commit, then answer 200 with a body that is not JSON."""
    return Fault("malformed")


def slow_body(seconds: float = 2.0) -> Fault:
    """Commit, send the headers, then trickle the body over ``seconds``."""
    return Fault("slow_body", seconds)


def key_in_use() -> Fault:
    """Stripe: 409 ``idempotency_key_in_use`` (as for a concurrent request with the same key)."""
    return Fault("key_in_use", status=409)


def key_expired() -> Fault:
    """Stripe: the Idempotency-Key was pruned (after 24 h): this call is a new request."""
    return Fault("key_expired")


@attrs.define
class Charge:
    gateway: str
    reference: str
    amount: Any  # in the gateway's unit
    currency: str
    gateway_id: str


@attrs.define
class RefundRecord:
    gateway: str
    reference: str  # the payment's
    refund_id: str | None  # ours, as the gateway echoes it (metadata, merchant_note, comments)
    amount: Any
    currency: str
    gateway_id: str
    status: str


class FakeCore:
    """The server's state and fault scripts, shared by the gateway-specific routes."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.base_url = ""
        self.charges: list[Charge] = []
        self.refunds: list[RefundRecord] = []
        self.calls: list[str] = []  # every operation received, in order
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._ids = itertools.count(1001)

    def url(self, gateway: str) -> str:
        return f"{self.base_url}/{gateway}"

    def next_id(self) -> int:
        return next(self._ids)

    def now(self) -> float:
        return self.clock.now().timestamp()

    def script(self, operation: str, *faults: Fault) -> None:
        """The next calls of ``operation`` meet ``faults``, one each, in order."""
        self._faults[operation].extend(faults)

    def received(self, operation: str) -> int:
        return self.calls.count(operation)

    def refunds_of(self, gateway: str, reference: str | None = None) -> list[RefundRecord]:
        return [r for r in self.refunds if r.gateway == gateway and reference in (None, r.reference)]

    # -- the fault machinery ---------------------------------------------------------------------
    def fault_for(self, operation: str) -> Fault | None:
        self.calls.append(operation)
        queue = self._faults.get(operation)
        return queue.popleft() if queue else None

    async def before(self, fault: Fault | None) -> web.StreamResponse | None:
        """Faults that answer instead of the endpoint (nothing committed)."""
        if fault is None:
            return None
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        elif fault.kind == "timeout_before":
            await asyncio.sleep(fault.seconds)
            return web.json_response({"error": {"type": "api_error", "message": "upstream timeout"}}, status=504)
        elif fault.kind == "status" and not fault.stored:
            return web.json_response({"error": {"type": "api_error", "message": "server error"},
                                      "status": "error", "message": "server error"}, status=fault.status)
        elif fault.kind == "rate_limited":
            return web.json_response({"error": {"type": "rate_limit_error", "message": "Too many requests"},
                                      "status": "error", "message": "Too many requests"},
                                     status=429, headers={"Retry-After": str(fault.retry_after)})
        elif fault.kind == "key_in_use":
            return web.json_response({"error": {
                "type": "invalid_request_error", "code": "idempotency_key_in_use",
                "message": "There is currently another in-progress request using this Idempotent Key"}},
                status=409)
        return None

    async def deliver(self, request: web.Request, fault: Fault | None, status: int, body: Any
                      ) -> web.StreamResponse:
        """Send a committed answer, as the fault has it."""
        if fault is not None and fault.kind == "timeout_after":
            await asyncio.sleep(fault.seconds)
        if fault is not None and fault.kind == "malformed":
            return web.Response(status=200, body=json.dumps(body).encode()[:17], content_type="application/json")
        if fault is not None and fault.kind == "slow_body":
            raw = json.dumps(body).encode()
            resp = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
            await resp.prepare(request)
            for i in range(0, len(raw), 8):
                await resp.write(raw[i:i + 8])
                await asyncio.sleep(fault.seconds * 8 / max(1, len(raw)))
            await resp.write_eof()
            return resp
        return web.json_response(body, status=status)

    async def run(self, request: web.Request, operation: str, endpoint: Handler) -> web.StreamResponse:
        """A call without idempotency keys: faults, then the endpoint, then delivery."""
        fault = self.fault_for(operation)
        early = await self.before(fault)
        if early is not None:
            return early
        if fault is not None and fault.kind == "status":  # stored 5xx means nothing for these APIs
            return web.json_response({"status": "error", "message": "server error"}, status=fault.status)
        status, body = await endpoint()
        return await self.deliver(request, fault, status, body)
