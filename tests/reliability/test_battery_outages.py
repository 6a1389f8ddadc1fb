"""The battery's outages on the real backends (issue 13): a private Redis stopped and restarted
while payments run -> 0 failed payments. (The shared Redis is never touched: the app is pointed at
a ``redis-server`` of this test's own on a free port.)"""
from __future__ import annotations

import asyncio
import socket
import subprocess
import tempfile

import pytest

import container as composition
from entrypoints.http.app import create_app
from tests.e2e.api import Api
from tests.e2e.conftest import e2e_dsn, real_backends, settings  # noqa: F401  (fixtures)
from tests.reliability.battery import size

PAYMENTS = size(30, 150)
SKUS = ("US-HEADPHONES", "NG-RICE-5KG", "KE-TEA-500G")  # the demo stock of one would run out
PAYERS = 6
RETRIES = 20
unavailable: list[str] = []  # every 503 a client was answered (and retried, as Retry-After says)


async def retried(call):
    """``call()`` again while it answers 503 (a client honouring Retry-After, sooner: the test's time)."""
    for attempt in range(RETRIES):
        try:
            return await call()
        except AssertionError as e:
            if ": 503 " not in str(e) or attempt == RETRIES - 1:
                raise
            unavailable.append(str(e)[:80])
            await asyncio.sleep(0.25)


async def approved(api: Api, payment: dict) -> dict:
    """Approve on the hosted page, then follow its redirect to the callback, each retried on a 503
    on its own: a retry of the whole round after the page took the approval would find no button."""
    callback = await retried(lambda: api.press(payment, "approve"))
    return await retried(lambda: api.json("GET", callback, api.payers.get(payment["reference"]), expect=200))


@pytest.fixture
def backend() -> str:
    return "postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A ``redis-server`` subprocess, no persistence: stopping it loses everything it held."""

    def __init__(self) -> None:
        self.port, self.proc = free_port(), None
        self.log = tempfile.TemporaryFile()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",
                                      "--bind", "127.0.0.1"], stdin=subprocess.PIPE, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
async def private_redis():
    redis = PrivateRedis()
    await redis.start()
    yield redis
    redis.stop()


LIMITS = {**composition.RATE_LIMITS, "payment_initiate": (100_000, 60), "checkout_initiate": (100_000, 60),
          "checkout_pricing": (100_000, 60), "checkout_confirm": (100_000, 60)}


async def outage(api: Api, redis: PrivateRedis, step) -> tuple[list[str], list[str]]:
    """Run ``step(n)`` PAYMENTS times: a third before and while Redis is killed, a third while it
    is down, a third after it came back empty. Returns (succeeded, failures)."""
    failures: list[str] = []
    done: list[str] = []

    async def run(n: int, phase: str) -> None:
        try:
            done.append(await step(n))
        except AssertionError as e:  # an unexpected status from the API, or a payment not settled
            failures.append(f"{phase} {n}: {str(e)[:160]}")
    third = PAYMENTS // 3
    before = [asyncio.create_task(run(n, "before")) for n in range(third)]
    await asyncio.sleep(0.2)
    redis.stop()  # Redis dies with requests in flight
    during = [asyncio.create_task(run(n, "during")) for n in range(third, 2 * third)]
    await asyncio.gather(*before, *during)
    await redis.start()  # back, and empty
    await asyncio.gather(*(run(n, "after") for n in range(2 * third, 3 * third)))
    return done, failures


def report(what: str, done: list[str], failures: list[str]) -> None:
    phases = {p: sum(f.startswith(p) for f in failures) for p in ("before", "during", "after")}
    print(f"\n[battery] redis outage, {what}: {len(done) + len(failures)} runs, succeeded={len(done)} "
          f"failed={len(failures)} {phases} 503s_retried={len(unavailable)}" + "".join(f"\n    {f}" for f in failures[:5]))


@pytest.mark.settings(rate_limits=LIMITS)
async def test_redis_stopped_and_restarted_under_load_fails_no_payment(aiohttp_client, settings, private_redis):  # noqa: F811
    """Orders placed with Redis up; their payments (initiate, the hosted page, the callback) run
    across the outage: none fails, every order ends paid."""
    api = Api(await aiohttp_client(create_app(composition.build_container(
        {**settings, "redis_url": private_redis.url}, environ={}))))
    payers = [await api.user() for _ in range(PAYERS)]
    orders = [await api.order(payers[n % PAYERS], ship_to=None, items=[(SKUS[n % len(SKUS)], 1)])
              for n in range(PAYMENTS)]

    async def pay(n: int) -> str:
        h, order = payers[n % PAYERS], orders[n]
        payment = await retried(lambda: api.initiate(h, order["id"], f"pay-{n}"))
        settled = await approved(api, payment)
        status = (await retried(lambda: api.json("GET", f"/api/v1/payment/orders/{order['id']}", h,
                                                 expect=200)))["status"]
        assert settled["status"] == "succeeded" and status == "paid", (settled["status"], status)
        return order["id"]
    unavailable.clear()
    done, failures = await outage(api, private_redis, pay)
    report("payments", done, failures)
    assert failures == []
    assert len(set(done)) == PAYMENTS // 3 * 3


@pytest.mark.settings(rate_limits=LIMITS)
async def test_redis_stopped_and_restarted_under_load_loses_no_checkout(aiohttp_client, settings, private_redis):  # noqa: F811
    """Whole purchases (checkout, shipping, tax, confirm, pay) across the outage."""
    api = Api(await aiohttp_client(create_app(composition.build_container(
        {**settings, "redis_url": private_redis.url}, environ={}))))
    payers = [await api.user() for _ in range(PAYERS)]

    async def purchase(n: int) -> str:
        h = payers[n % PAYERS]
        order = await api.order(h, ship_to=None, items=[("US-HEADPHONES", 1)])
        payment = await api.initiate(h, order["id"], f"pay-{n}")
        assert (await api.sandbox(payment, "approve"))["status"] == "succeeded"
        return order["id"]
    done, failures = await outage(api, private_redis, purchase)
    report("whole purchases", done, failures)
    assert failures == []
