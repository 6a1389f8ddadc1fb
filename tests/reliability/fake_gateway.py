"""A fake payment gateway: a real aiohttp server on loopback speaking enough of Stripe's,
Flutterwave's (v3), Paystack's and MTN MoMo's documented APIs for the reliability battery.

Mounted under ``/stripe``, ``/flutterwave``, ``/paystack`` and ``/mtn_momo``: point an adapter's ``base_url`` at
``fake.url("stripe")``. Every call can be given scripted faults (``fake.script(operation, ...)``):
a delay, a timeout before or after committing, 500/502/503, 429 with Retry-After, malformed
JSON, a slow body, Stripe's 409 ``idempotency_key_in_use`` and a pruned (expired) key. What the
fake *committed* (charges, refunds) is recorded, so a test compares "money moved at the gateway"
with what we recorded. Time is the shared ``clock`` (a ``FakeClock``); faults sleep for real.
"""
from __future__ import annotations

import socket

from aiohttp import web

from tests.reliability.fake_faults import (Charge, Fault, FakeCore, RefundRecord, delay, key_expired,  # noqa: F401
                                           key_in_use, malformed_json, rate_limited, server_error, slow_body,
                                           timeout_after_commit, timeout_before_commit)
from tests.reliability.fake_flutterwave import FakeFlutterwave
from tests.reliability.fake_momo import FakeMomo
from tests.reliability.fake_paystack import FakePaystack
from tests.reliability.fake_stripe import FakeStripe


class FakeGateway(FakeCore):
    """Stripe, Flutterwave, Paystack and MTN MoMo on one server, sharing one record of what moved."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.stripe, self.flutterwave, self.paystack = FakeStripe(self), FakeFlutterwave(self), FakePaystack(self)
        self.momo = FakeMomo(self)

    def app(self) -> web.Application:
        app = web.Application()
        for routes in (self.stripe.routes(), self.flutterwave.routes(), self.paystack.routes(), self.momo.routes()):
            app.add_routes(routes)
        return app


async def start(fake: FakeGateway) -> web.AppRunner:
    """Serve ``fake`` on a free loopback port; a client that gives up cancels its handler."""
    runner = web.AppRunner(fake.app(), handler_cancellation=True)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    fake.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return runner
