"""A shop's backend on loopback: a real aiohttp server that verifies every merchant webhook with
the ``standardwebhooks`` library, and that a test can make fail, hang, answer 410 Gone or redirect."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import standardwebhooks
import standardwebhooks.webhooks as sw_module
from aiohttp import web


class Receiver:
    def __init__(self, secret: str, clock_now: Callable[[], datetime]) -> None:
        self.secrets = [secret]
        self.clock_now = clock_now
        #: what answers the next requests get: "ok", "fail", "slow", "gone", "redirect"
        self.mode = "ok"
        self.received: list[dict] = []  # verified messages, in arrival order
        self.refused: list[str] = []  # why a message failed verification
        self.hits = 0
        self.redirect_to = "http://10.0.0.1/steal"
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        body = await request.read()
        if self.mode == "fail":
            return web.Response(status=503, text="down for maintenance")
        if self.mode == "slow":
            await asyncio.sleep(5)
        if self.mode == "gone":
            return web.Response(status=410, text="gone")
        if self.mode == "redirect":
            raise web.HTTPFound(self.redirect_to)
        verified = None
        errors = []
        for secret in self.secrets:
            try:
                verified = _with_clock(self.clock_now, standardwebhooks.Webhook(secret).verify, body,
                                       dict(request.headers))
                break
            except standardwebhooks.WebhookVerificationError as exc:
                errors.append(str(exc))
        if verified is None:
            self.refused.append("; ".join(errors))
            return web.Response(status=400, text="bad signature")
        self.received.append({"id": request.headers["webhook-id"], **verified})
        return web.Response(status=200, text="thanks")

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hooks", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hooks"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def _with_clock(now: Callable[[], datetime], fn, *args):
    """Run the library's check against the test's clock (its timestamp tolerance reads the time)."""
    real = sw_module.datetime

    class _Clock(real):  # type: ignore[misc, valid-type]
        @classmethod
        def now(cls, tz=None):  # noqa: ANN001
            return now()
    sw_module.datetime = _Clock
    try:
        return fn(*args)
    finally:
        sw_module.datetime = real
