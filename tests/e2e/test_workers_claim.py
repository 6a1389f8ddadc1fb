"""On Postgres: several workers at once never work on one row together (the scans claim their rows
with FOR UPDATE SKIP LOCKED and a lease)."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from dependency_injector import providers

import container as composition
from adapters.system import FakeClock
from entrypoints.bootstrap import prepare

BACKENDS = ("postgres",)


async def worker(settings, clock):
    c = composition.build_container(settings, environ={})
    c.core.clock.override(providers.Object(clock))
    return c, await prepare(c)


async def test_two_workers_never_follow_one_payment_together(api, settings):
    payments = []
    for n in range(6):
        h = await api.user()
        order = await api.order(h, ship_to=None)
        payments.append(await api.initiate(h, order["id"], f"k{n}"))
    later = FakeClock(datetime.now(UTC) + timedelta(minutes=5))  # every intent's first check is due
    (ca, a), (cb, b) = await worker(settings, later), await worker(settings, later)
    asked: list[tuple[str, str]] = []
    entered, release = asyncio.Event(), asyncio.Event()
    try:
        for name, services in (("a", a), ("b", b)):
            real = services.sandbox.verify_payment

            async def verify(reference, gateway_reference, name=name, real=real):
                asked.append((name, reference))
                if name == "a" and not entered.is_set():
                    entered.set()
                    await release.wait()  # worker A holds its claim while B makes a whole pass
                return await real(reference, gateway_reference)
            services.sandbox.verify_payment = verify
        first = asyncio.create_task(a.maintenance.settle_open_payments(2))
        await entered.wait()
        assert await b.maintenance.settle_open_payments(100) == 4
        release.set()
        assert await first == 2
        references = [ref for _, ref in asked]
        assert sorted(references) == sorted(p["reference"] for p in payments)  # each one asked about once
        assert {name for name, _ in asked} == {"a", "b"}
        assert await a.maintenance.settle_open_payments(100) == 0  # rescheduled, not due again yet
    finally:
        await composition.stop(ca)
        await composition.stop(cb)


