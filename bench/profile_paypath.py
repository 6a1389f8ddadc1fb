"""Server CPU per payment on the full pay path, in one process, with no sockets and no load generator.

    .venv/bin/python bench/profile_paypath.py [--payments 300] [--repeats 3] [--profile 25]
    .venv/bin/python bench/profile_paypath.py --postgres postgresql://postgres@127.0.0.1:5432/payport_prof_h9 \
        --redis redis://127.0.0.1:6379/10

One payment is the six requests bench/paypath.py sends: checkout initiate -> calculate-shipping ->
confirm-order -> payment initiate (sandbox gateway, a fresh Idempotency-Key) -> POST the sandbox page
with outcome=approve (the signed webhook is delivered in-process: verify -> inbox -> settle) -> GET the
303's callback (verify with the gateway, settle). Raw HTTP/1.1 requests are fed to aiohttp's protocol
handler through bench/inproc.py's in-memory transport, one payment after another, so the figure is the
Python path's CPU time alone (``time.process_time`` of this process; with Postgres and Redis their
servers' CPU is not in it, the client side of the drivers is). ``--profile N`` runs N payments more
under cProfile and prints the top functions by cumulative and by own time.

Postgres: the database named in the DSN is created if missing, migrated and truncated first; Redis:
the db in the URL is flushed. Use databases of your own.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from inproc import Connection, request, run  # noqa: E402

API = "/api/v1"


def raw_request(method: str, path: str, headers: dict[str, str] | None, data: bytes, ctype: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1:8080", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    if data:
        lines += [f"Content-Type: {ctype}", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def split(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ")[1]), headers, body


async def one_payment(conn: Connection, auth: dict[str, str]) -> None:
    status, _, raw = split(await conn.send(request("POST", f"{API}/checkout/initiate", auth,
                                                   {"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]})))
    co = json.loads(raw)
    assert status == 201, (status, co)
    status, _, raw = split(await conn.send(request("POST", f"{API}/checkout/calculate-shipping", auth, {
        "checkout_id": co["checkout_id"], "address": {"country": "NG", "city": "Lagos", "line1": "1 Marina"}})))
    assert status == 200, (status, raw[:300])
    status, _, raw = split(await conn.send(request("POST", f"{API}/checkout/confirm-order", auth,
                                                   {"checkout_id": co["checkout_id"]})))
    order = json.loads(raw)
    assert status in (200, 201), (status, order)
    status, _, raw = split(await conn.send(request(
        "POST", f"{API}/payment/payments/initiate", auth | {"Idempotency-Key": "prof-" + uuid.uuid4().hex},
        {"order_id": order["id"]})))
    payment = json.loads(raw)
    assert status == 201, (status, payment)
    page = urlsplit(payment["authorization_url"])
    status, headers, raw = split(await conn.send(raw_request("POST", page.path, None, b"outcome=approve",
                                                             "application/x-www-form-urlencoded")))
    assert status == 303, (status, raw[:300])
    status, _, raw = split(await conn.send(request("GET", headers["location"])))
    settled = json.loads(raw)
    assert status == 200 and settled["status"] == "succeeded", (status, settled)


async def payments(conn: Connection, auth: dict[str, str], n: int) -> float:
    started = time.process_time()
    for _ in range(n):
        await one_payment(conn, auth)
    return (time.process_time() - started) / n * 1e6


async def sampled(work: Callable[[], Awaitable[object]], n: int, top: int, unit: str = "payments") -> None:
    """While ``work()`` runs (``n`` ``unit``), every millisecond of this process's CPU time, the stack
    of the running frame is counted: each function on it once (inclusive share) and the innermost
    one (own share). Shared by bench/profile_route.py."""
    import collections
    import signal

    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    callers: collections.Counter = collections.Counter()  # innermost frame and the one that called it
    total = [0]

    def name(code) -> str:
        path = code.co_filename
        for cut in ("site-packages/", "python3.11/", str(BENCH.parent) + "/"):
            if cut in path:
                path = path.split(cut, 1)[1]
                break
        return f"{path}:{code.co_firstlineno}({code.co_name})"

    def tick(_sig, frame) -> None:
        total[0] += 1
        own[name(frame.f_code)] += 1
        if frame.f_back is not None:
            callers[f"{name(frame.f_code)} <- {name(frame.f_back.f_code)}"] += 1
        seen = set()
        while frame is not None:
            key = name(frame.f_code)
            if key not in seen:
                seen.add(key)
                inclusive[key] += 1
            frame = frame.f_back

    signal.signal(signal.SIGPROF, tick)
    signal.setitimer(signal.ITIMER_PROF, 0.001, 0.001)  # the kernel's tick may make it coarser: see the print
    started = time.process_time()
    try:
        await work()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
    cpu = time.process_time() - started
    print(f"samples: {total[0]} over {n} {unit}, {cpu:.2f} s of CPU ({1000 * cpu / max(1, total[0]):.2f} ms a sample)")
    for title, counter in (("inclusive", inclusive), ("own", own), ("own, by caller", callers)):
        print(f"-- {title} share of samples")
        for key, count in counter.most_common(top):
            print(f"{100 * count / total[0]:6.1f}%  {key}")


def reset_stores(pg: str | None, redis_url: str | None) -> None:
    if pg:
        from tests.databases import prepare_database, truncate_all

        prepare_database(pg)
        truncate_all(pg)
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--payments", type=int, default=300, help="per repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--profile", type=int, default=0, help="payments more under cProfile (0: none)")
    p.add_argument("--sample", type=int, default=0, help="payments more under a CPU-time sampler (SIGPROF every"
                   " ms): shares of samples per function, with far less distortion than cProfile")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--postgres", metavar="DSN")
    p.add_argument("--redis", metavar="URL")
    args = p.parse_args()
    reset_stores(args.postgres, args.redis)
    from launch import _raise_stock

    _raise_stock(10**9)  # as bench/launch.py does: the demo catalog holds ~1,700 units
    from container import build_container
    from entrypoints.http.app import create_app

    from entrypoints.settings import RATE_LIMITS

    # as bench/bench.py runs the server: the limits stay on but never bind, warnings only, the sandbox on
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PAYPORT_", "DATABASE_URL", "REDIS_URL"))}
    environ.update({f"PAYPORT_RATE_{p.upper()}": "1000000/60" for p in RATE_LIMITS})
    environ.update({"PAYPORT_LOG_LEVEL": "WARNING", "PAYPORT_SANDBOX": "on"})
    if args.postgres:
        environ.update({"DATABASE_URL": args.postgres, "PAYPORT_DEMO_DATA": "on"})
    if args.redis:
        environ["REDIS_URL"] = args.redis
    app = create_app(build_container(environ=environ))
    conn = await Connection.to(app)
    email = f"prof{uuid.uuid4().hex[:8]}@proc.io"
    await conn.json(request("POST", f"{API}/auth/register", body={"email": email, "password": "in-proc-pass", "name": "P"}))
    status, tokens = await conn.json(request("POST", f"{API}/auth/login", body={"email": email, "password": "in-proc-pass"}))
    assert status == 200, tokens
    auth = {"Authorization": "Bearer " + tokens["access"]}
    await payments(conn, auth, args.warmup)
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)  # as payport serve does
    runs = [await payments(conn, auth, args.payments) for _ in range(args.repeats)]
    doc = {"mode": "postgres+redis" if args.postgres else ("memory+redis" if args.redis else "memory"),
           "cpu_us_per_payment_best": round(min(runs), 1), "runs": [round(r, 1) for r in runs],
           "payments_per_repeat": args.payments, "requests_per_payment": 6}
    print(json.dumps(doc))
    if args.profile:
        prof = cProfile.Profile(time.process_time)  # CPU, not wall: the host is shared
        prof.enable()
        await payments(conn, auth, args.profile)
        prof.disable()
        for key in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats(key).print_stats(args.top)
            print(out.getvalue())
    if args.sample:
        await sampled(lambda: payments(conn, auth, args.sample), args.sample, args.top)
    await conn.close()


if __name__ == "__main__":
    run(main)
