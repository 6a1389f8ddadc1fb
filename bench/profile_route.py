"""CPU (or instructions, with bench/instructions) of one route, in one process, with no sockets:
Postgres + Redis, as bench/run serves them.

    .venv/bin/python bench/profile_route.py detail|cached|initiate|refund [--n 2000] [--repeats 5]
        [--pg postgresql://postgres@127.0.0.1:5432/payport_prof] [--redis redis://127.0.0.1:6379/11]
        [--sample N | --profile N]

``detail``: an order's detail with the order TTL at 0 (every read a primary-key select, as the bench's
uncached instance); ``cached``: the same read with the order TTL as configured (every read after the
first a cache hit, as the bench's cached instance); ``initiate``: checkout initiate of one item; ``refund``: a 1-unit partial refund,
round-robin over the payments of ``PAYS`` (env, default 60) full payments made first (bench/
profile_paypath.py's). Raw requests are fed to aiohttp's protocol handler (bench/inproc.py); the
figure is this process's CPU time (``time.process_time``), the drivers' client side included, the
servers' own CPU not. ``--sample N`` runs N requests more under a CPU-time sampler (shares of
samples, inclusive and own); ``--profile N`` under cProfile. The database in the DSN is created,
migrated and truncated, the Redis db flushed: use ones of your own.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import profile_paypath as paypath  # noqa: E402
from inproc import Connection, request, run  # noqa: E402

API = "/api/v1"
ITEM = {"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]}


async def requests_for(what: str, conn: Connection, auth: dict[str, str], dsn: str):
    """A function giving the i-th raw request of the measured route."""
    if what in ("detail", "cached"):
        _, co = await conn.json(request("POST", f"{API}/checkout/initiate", auth, ITEM))
        await conn.json(request("POST", f"{API}/checkout/calculate-shipping", auth, {
            "checkout_id": co["checkout_id"], "address": {"country": "NG", "city": "Lagos", "line1": "1 Marina"}}))
        _, order = await conn.json(request("POST", f"{API}/checkout/confirm-order", auth, {"checkout_id": co["checkout_id"]}))
        raw = request("GET", f"{API}/payment/orders/{order['id']}", auth)
        return lambda i: raw
    if what == "initiate":
        raw = request("POST", f"{API}/checkout/initiate", auth, ITEM)
        return lambda i: raw
    if what == "refund":
        import psycopg2

        for _ in range(int(os.environ.get("PAYS", "60"))):
            await paypath.one_payment(conn, auth)
        with psycopg2.connect(dsn) as c, c.cursor() as cur:
            cur.execute("SELECT id FROM payment_intents WHERE status = 'succeeded' ORDER BY id")
            pays = [r[0] for r in cur.fetchall()]
        return lambda i: request("POST", f"{API}/payment/refunds", auth | {"Idempotency-Key": f"rf-{uuid.uuid4().hex}"},
                                 {"payment_id": pays[i % len(pays)], "amount": 1, "reason": "requested_by_customer"})
    raise SystemExit(f"unknown route {what!r}: detail, cached, initiate or refund")


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("detail", "cached", "initiate", "refund"))
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--sample", type=int, default=0)
    p.add_argument("--profile", type=int, default=0)
    p.add_argument("--top", type=int, default=50)
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/payport_prof")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    a = p.parse_args()
    paypath.reset_stores(a.pg, a.redis)
    from launch import _raise_stock

    _raise_stock(10**9)
    from container import build_container
    from entrypoints.http.app import create_app
    from entrypoints.settings import RATE_LIMITS

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PAYPORT_", "DATABASE_URL", "REDIS_URL"))}
    environ.update({f"PAYPORT_RATE_{x.upper()}": "1000000/60" for x in RATE_LIMITS})
    environ.update({"PAYPORT_LOG_LEVEL": "WARNING", "PAYPORT_SANDBOX": "on", "DATABASE_URL": a.pg,
                    "PAYPORT_DEMO_DATA": "on", "REDIS_URL": a.redis})
    if a.what != "cached":
        environ["PAYPORT_TTL_ORDER"] = "0"
    app = create_app(build_container(environ=environ))
    conn = await Connection.to(app)
    email = f"prof{uuid.uuid4().hex[:8]}@proc.io"
    await conn.json(request("POST", f"{API}/auth/register", body={"email": email, "password": "in-proc-pass", "name": "P"}))
    _, tokens = await conn.json(request("POST", f"{API}/auth/login", body={"email": email, "password": "in-proc-pass"}))
    auth = {"Authorization": "Bearer " + tokens["access"]}
    nth = await requests_for(a.what, conn, auth, a.pg)
    status, body = await conn.json(nth(0))
    assert status in (200, 201), (status, body)
    done = [0]

    async def go(n: int) -> float:
        started = time.process_time()
        for _ in range(n):
            done[0] += 1
            await conn.send(nth(done[0]))
        return (time.process_time() - started) / max(1, n) * 1e6

    await go(a.warmup)
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)  # as payport serve does
    runs = [await go(a.n) for _ in range(a.repeats)]
    print(json.dumps({"what": a.what, "cpu_us_per_request_best": round(min(runs), 1), "runs": [round(r) for r in runs]}))
    if a.sample:
        await paypath.sampled(lambda: go(a.sample), a.sample, a.top, "requests")
    if a.profile:
        prof = cProfile.Profile(time.process_time)
        prof.enable()
        await go(a.profile)
        prof.disable()
        stats = pstats.Stats(prof)
        stats.sort_stats("cumulative").print_stats(a.top)
        stats.sort_stats("tottime").print_stats(a.top)
    await conn.close()


if __name__ == "__main__":
    run(main)
