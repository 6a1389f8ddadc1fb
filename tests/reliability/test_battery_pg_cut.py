"""The battery's Postgres outage (issue 13): with payments in flight on Postgres + Redis, every
connection the app holds to its database is terminated (``pg_terminate_backend``), again and again
for a few seconds. Then:

- every request the cut reaches fails fast: a 503 problem with Retry-After, never a 500, never a
  hang (each request's wall time is measured);
- 0 partial writes: every paid order has exactly one succeeded intent, which has exactly one
  succeeded capture in the ledger of its captured amount; no ledger row without its intent; no
  order holding a payment that is not succeeded; reconcile finds nothing;
- the clients, retrying what answered 503 with the same Idempotency-Key, complete every payment.

The cuts hit only this run's database (``payport_e2e<PAYPORT_TEST_DB_SUFFIX>``), from a connection
to another database.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from urllib.parse import urlsplit

import psycopg2
import pytest

import container as composition
from entrypoints.http.app import create_app
from tests.databases import with_dbname
from tests.e2e.api import Api
from tests.e2e.conftest import e2e_dsn, real_backends, settings  # noqa: F401  (fixtures)
from tests.reliability.battery import size

PAYMENTS = size(30, 120)
CUT_FOR, CUT_EVERY = 3.0, 0.1  # seconds: how long connections are cut, and how often
HANG = 20.0  # no request may take this long: a hang is the pool's 30 s timeout (120 payments queue on 10 connections)
RETRIES = 100  # 20 s: far past the cut, far below the key lock (60 s)
SKUS = ("US-HEADPHONES", "NG-RICE-5KG", "KE-TEA-500G")
LIMITS = {**composition.RATE_LIMITS, **{policy: (100_000, 60) for policy in (
    "payment_initiate", "payment_callback", "sandbox", "checkout_initiate", "checkout_pricing", "checkout_confirm")}}


@pytest.fixture
def backend() -> str:
    return "postgres"


class Measured(Api):
    """The API client, recording every answer's status, wall time and Retry-After."""

    def __init__(self, client) -> None:
        super().__init__(client)
        self.answers: Counter = Counter()
        self.slowest = 0.0
        self.unavailable_without_retry_after = 0
        self.cutting = False
        self.during_cut: Counter = Counter()

    async def call(self, method, path, headers=None, expect=None, **kw):
        started = time.perf_counter()
        resp = await self.client.request(method, path, headers=headers or {}, **kw)
        body = await resp.read()
        elapsed = time.perf_counter() - started
        self.slowest = max(self.slowest, elapsed)
        self.answers[resp.status] += 1
        if self.cutting:
            self.during_cut[resp.status] += 1
        if resp.status == 503:
            self.unavailable_without_retry_after += "Retry-After" not in resp.headers
            assert resp.content_type == "application/problem+json", resp.headers
        assert resp.status != 500 and elapsed < HANG, f"{method} {path}: {resp.status} in {elapsed:.1f}s {body[:300]!r}"
        if expect is not None:
            assert resp.status == expect, f"{method} {path}: {resp.status} {body[:500]!r}"
        if 200 <= resp.status < 300 and resp.content_type == "application/json" and resp.url.port == self.client.port:
            await self.conforms(resp.method, resp.url.raw_path, body)
        return resp, body


async def retried(call):
    """``call()`` again while it answers 503 (or 409 "in progress": the key of an attempt that met
    the cut is being released), as a client honouring Retry-After would (sooner: the test's time),
    with the same Idempotency-Key (the call's own)."""
    for attempt in range(RETRIES):
        try:
            return await call()
        except AssertionError as e:
            again = ": 503 " in str(e) or "idempotency_in_flight" in str(e)
            if not again or attempt == RETRIES - 1:
                raise
            await asyncio.sleep(0.2)


async def approve(api: Measured, payment: dict, h: dict) -> dict:
    """Approve on the hosted page and follow its redirect to the callback; a page already approved
    (an earlier try's press went through, its redirect met the cut) is followed to the callback."""
    page = urlsplit(payment["authorization_url"]).path
    _, html = await api.call("GET", page, expect=200)
    if b"Approve" in html:
        return await api.sandbox(payment, "approve")
    return await api.json("GET", f"/api/v1/payment/payments/callback?reference={payment['reference']}", h,
                          expect=200)


class Cutter:
    """Terminates every backend of the app's database, every ``CUT_EVERY`` s for ``CUT_FOR`` s."""

    def __init__(self, dsn: str) -> None:
        self.dsn, self.database = dsn, psycopg2.extensions.parse_dsn(dsn)["dbname"]
        self.rounds = self.terminated = 0

    def _cut(self, conn) -> int:
        with conn.cursor() as cur:
            cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (self.database,))
            return cur.fetchone()[0]

    async def run(self, api: Measured) -> None:
        conn = psycopg2.connect(with_dbname(self.dsn, "postgres"))
        conn.autocommit = True
        api.cutting = True
        try:
            ends = time.perf_counter() + CUT_FOR
            while time.perf_counter() < ends:
                self.terminated += await asyncio.to_thread(self._cut, conn)
                self.rounds += 1
                await asyncio.sleep(CUT_EVERY)
        finally:
            api.cutting = False
            conn.close()


def audit(dsn: str) -> dict[str, int]:
    """Rows that do not agree with each other (each query lists what would be a partial write)."""
    checks = {
        "paid orders without one succeeded intent": """
            SELECT o.id FROM orders o WHERE o.status = 'paid' AND NOT EXISTS (
                SELECT 1 FROM payment_intents p WHERE p.id = o.payment_id AND p.status = 'succeeded')""",
        "orders holding a payment that is not succeeded": """
            SELECT o.id FROM orders o JOIN payment_intents p ON p.id = o.payment_id WHERE p.status <> 'succeeded'""",
        "succeeded intents without exactly one capture of their amount": """
            SELECT p.id FROM payment_intents p WHERE p.status = 'succeeded' AND 1 <> (
                SELECT count(*) FROM transactions t WHERE t.payment_id = p.id AND t.type = 'payment'
                   AND t.status = 'succeeded' AND t.amount = p.captured_amount)""",
        "captures of an intent that is not succeeded": """
            SELECT t.id FROM transactions t JOIN payment_intents p ON p.id = t.payment_id
             WHERE t.type = 'payment' AND t.status = 'succeeded' AND p.status <> 'succeeded'""",
        "captures recorded against another order": """
            SELECT t.id FROM transactions t JOIN payment_intents p ON p.id = t.payment_id
             WHERE t.order_id <> p.order_id""",
        "orders with more than one intent": """
            SELECT order_id FROM payment_intents GROUP BY order_id HAVING count(*) > 1""",
    }
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        found = {}
        for name, sql in checks.items():
            cur.execute(sql)
            found[name] = len(cur.fetchall())
    return found


@pytest.mark.settings(rate_limits=LIMITS)
async def test_postgres_connections_cut_under_load_fail_fast_and_lose_nothing(aiohttp_client, settings, e2e_dsn):  # noqa: F811
    api = Measured(await aiohttp_client(create_app(composition.build_container(settings, environ={}))))
    payers = [await api.user() for _ in range(6)]
    orders = [await api.order(payers[n % 6], ship_to=None, items=[(SKUS[n % len(SKUS)], 1)]) for n in range(PAYMENTS)]
    before = Counter(api.answers)
    cutter, done = Cutter(e2e_dsn), []

    async def pay(n: int) -> None:
        h, order = payers[n % 6], orders[n]
        await asyncio.sleep(n * CUT_FOR / PAYMENTS)  # spread over the cut: some before, most during
        payment = await retried(lambda: api.initiate(h, order["id"], f"pay-{n}"))
        settled = await retried(lambda: approve(api, payment, h))
        status = (await retried(lambda: api.json("GET", f"/api/v1/payment/orders/{order['id']}", h,
                                                 expect=200)))["status"]
        assert (settled["status"], status) == ("succeeded", "paid"), (settled, status)
        done.append(order["id"])

    started = time.perf_counter()
    await asyncio.gather(cutter.run(api), *(pay(n) for n in range(PAYMENTS)))
    seconds = time.perf_counter() - started
    answers = api.answers - before
    partial = audit(e2e_dsn)
    findings = await api.services.maintenance.reconcile()
    figures = {"payments": PAYMENTS, "completed": len(done), "cut rounds": cutter.rounds,
               "backends terminated": cutter.terminated, "answers": dict(sorted(answers.items())),
               "answers while cutting": dict(sorted(api.during_cut.items())),
               "503 without Retry-After": api.unavailable_without_retry_after,
               "slowest request (s)": round(api.slowest, 2), "partial writes": sum(partial.values()),
               "reconcile findings": len(findings), "wall (s)": round(seconds, 1)}
    print(f"\n[battery] postgres connections cut: {figures}")
    assert cutter.terminated > 0 and answers[503] > 0, "the cut never reached a request"
    assert answers[500] == 0 and api.unavailable_without_retry_after == 0
    assert partial == dict.fromkeys(partial, 0), partial
    assert findings == [], findings
    assert sorted(done) == sorted(o["id"] for o in orders)


@pytest.mark.settings(rate_limits=LIMITS, pg_pool_min=1, pg_pool_max=2)
async def test_as_many_concurrent_initiations_as_the_pool_has_connections_do_not_wait_for_each_other(
        aiohttp_client, settings):  # noqa: F811
    """Regression (found by this battery: under the cut, every request waited the pool's whole 30 s
    timeout): the initiation asked the risk rules, which count and record on connections of their
    own, while it held the order's lock on a connection of its own. A pool's worth of concurrent
    initiations then each held one connection and waited for another. Here the pool has two, and
    two initiations are made to reach the risk rules together."""
    api = Api(await aiohttp_client(create_app(composition.build_container(settings, environ={}))))
    payers = [await api.user() for _ in range(2)]
    orders = [await api.order(h, ship_to=None, items=[("US-HEADPHONES", 1)]) for h in payers]
    signals = api.services.initiate_payment.fraud.signals
    real_record, together = signals.record, asyncio.Barrier(2)

    async def record(*args, **kwargs):
        await asyncio.wait_for(together.wait(), 5)  # both initiations are inside the risk rules
        return await real_record(*args, **kwargs)
    signals.record = record
    started = time.perf_counter()
    made = await asyncio.gather(*(api.initiate(h, o["id"], f"pool-{n}") for n, (h, o) in
                                  enumerate(zip(payers, orders, strict=True))))
    assert [p["status"] for p in made] == ["requires_action"] * 2
    assert time.perf_counter() - started < 5  # not the pool's 30 s timeout
