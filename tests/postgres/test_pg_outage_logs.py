"""A Postgres outage under load is logged once per transition: one ``dependency down`` line, one
``dependency back`` line, a counter, and no traceback for any of the requests (or worker passes)
it fails. The app reaches the shared Postgres through a proxy the test cuts (open connections are
dropped, new ones refused); the server itself is never touched."""
from __future__ import annotations

import asyncio
import logging
import re

import psycopg2.extensions
import pytest

import container as composition
from adapters.memory.infrastructure import InMemoryEventBus
from adapters.postgres import db
from adapters.postgres.pool import create_pool
from adapters.postgres.uow import PostgresUnitOfWork
from application.errors import DependencyUnavailable
from entrypoints.http.app import create_app
from entrypoints.worker import Worker, registered_jobs
from tests.databases import truncate_all
from tests.e2e.api import Api
from tests.e2e.conftest import FAST, e2e_dsn  # noqa: F401  (fixture)
from tests.outage_proxy import CuttableProxy

FAILING = 40


def through(dsn: str, port: int) -> str:
    params = psycopg2.extensions.parse_dsn(dsn)
    params["port"] = str(port)
    return " ".join(f"{k}={v}" for k, v in params.items())


def lines(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def assert_no_traceback(caplog) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert "Traceback" not in caplog.text


@pytest.fixture
async def proxy():
    cut = CuttableProxy(5432)
    await cut.start()
    yield cut
    await cut.close()


async def test_an_outage_under_load_is_one_line_down_and_one_back(aiohttp_client, e2e_dsn, proxy, caplog):  # noqa: F811
    truncate_all(e2e_dsn)
    container = composition.build_container(
        {**FAST, "database_url": through(e2e_dsn, proxy.port), "sandbox": "on", "demo_data": "on", "pg_pool_max": 4},
        environ={})
    api = Api(await aiohttp_client(create_app(container)))
    payers = [await api.user() for _ in range(4)]
    payments = [await api.initiate(h, (await api.order(h))["id"], f"k-{n}") for n, h in enumerate(payers)]

    async def check(n: int) -> int:  # reads the payment under its lock: the database on every call
        h, payment = payers[n % 4], payments[n % 4]
        resp, _ = await api.call("GET", f"/api/v1/payment/payments/{payment['id']}/check-status", h)
        return resp.status

    assert {await check(n) for n in range(4)} == {200}
    caplog.clear()
    caplog.set_level(logging.INFO)
    await proxy.cut()
    statuses = await asyncio.gather(*(check(n) for n in range(FAILING)))  # concurrent: the pool's 4 and waiters
    statuses += [await check(n) for n in range(FAILING)]
    assert set(statuses) == {503}
    worker = Worker(await registered_jobs(container))
    await worker.run_each_once()  # the worker's passes meet the outage too
    await proxy.restore()
    assert await check(0) == 200
    assert [await check(n) for n in range(8)] == [200] * 8
    down, back = lines(caplog, "dependency down: postgres"), lines(caplog, "dependency back: postgres")
    assert len(down) == 1 and len(back) == 1, caplog.text
    assert int(re.search(r"and (\d+) failures", back[0]).group(1)) >= 2 * FAILING  # every failure counted
    assert lines(caplog, "dependency still down") == []  # within the 30 s reminder interval
    assert_no_traceback(caplog)
    outages = container.core.metrics().dependency_outages.labels(dependency="postgres")._value.get()
    assert outages == 1


async def test_a_saturated_pool_logs_its_outage_once(pg_dsn, caplog):
    resource = create_pool(pg_dsn, minsize=1, maxsize=1, timeout=0.05)
    pool = await resource.__anext__()
    try:
        held = await db.acquire(pool)
        for _ in range(FAILING):
            with pytest.raises(DependencyUnavailable):
                async with PostgresUnitOfWork(pool, InMemoryEventBus()):
                    pass
        await db.release(pool, held)
        assert await db.fetch(pool, "SELECT 1 AS one") == [{"one": 1}]
    finally:
        await resource.aclose()
    down = lines(caplog, "dependency down: postgres")
    assert len(down) == 1 and "no connection free within 0.05s" in down[0]
    assert len(lines(caplog, "dependency back: postgres")) == 1
    assert_no_traceback(caplog)


async def test_a_success_that_began_before_the_outage_does_not_end_it():
    from application.outages import OutageTracker

    now = [100.0]
    tracker = OutageTracker(logging.getLogger("test"), clock=lambda: now[0])
    started = now[0]
    now[0] += 1
    tracker.failed("postgres", OSError("refused"))
    tracker.recovered("postgres", started)  # its answer was on the way before the outage
    assert tracker.is_down("postgres") and tracker.failures("postgres") == 1
    tracker.recovered("postgres", now[0])
    assert not tracker.is_down("postgres") and tracker.failures("postgres") == 0
