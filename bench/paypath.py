"""The full pay path per second: a multi-process asyncio client (the steps depend on each other).

One payment = checkout/initiate -> checkout/confirm-order -> payments/initiate (sandbox gateway,
unique Idempotency-Key) -> POST the sandbox page with outcome=approve (the signed webhook is delivered
in-process: verify -> inbox -> settle) -> GET the 303's callback (verify with the gateway, settle).
A payment counts only when the callback answers 200 with status "succeeded".

    python bench/paypath.py --base URL --data DIR --seconds 10 --procs 2 --concurrency 8

Prints one JSON document: payments/s, payment latency percentiles (ms), per-step percentiles, errors.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
import uuid
from pathlib import Path

import aiohttp

API = "/api/v1"
STEPS = ("checkout_initiate", "confirm", "payment_initiate", "sandbox_approve", "callback")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100 * len(s) + 0.5)) - 1))]


async def worker(session: aiohttp.ClientSession, base: str, token: str, deadline: float, cap: list[int],
                 out: dict) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < deadline and cap[0] > 0:
        cap[0] -= 1
        t0 = time.perf_counter()
        marks = []
        try:
            async with session.post(f"{base}{API}/checkout/initiate", headers=auth,
                                    json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]}) as r:
                body = await r.json()
                assert r.status == 201, (r.status, body)
            marks.append(time.perf_counter())
            async with session.post(f"{base}{API}/checkout/confirm-order", headers=auth,
                                    json={"checkout_id": body["checkout_id"]}) as r:
                order = await r.json()
                assert r.status in (200, 201), (r.status, order)
            marks.append(time.perf_counter())
            async with session.post(f"{base}{API}/payment/payments/initiate",
                                    headers=auth | {"Idempotency-Key": "bench-pay-" + uuid.uuid4().hex},
                                    json={"order_id": order["id"]}) as r:
                payment = await r.json()
                assert r.status == 201, (r.status, payment)
            marks.append(time.perf_counter())
            async with session.post(payment["authorization_url"], data={"outcome": "approve"},
                                    allow_redirects=False) as r:
                await r.read()
                assert r.status == 303, r.status
                location = r.headers["Location"]
            marks.append(time.perf_counter())
            async with session.get(base + location) as r:
                settled = await r.json()
                assert r.status == 200 and settled["status"] == "succeeded", (r.status, settled)
            marks.append(time.perf_counter())
        except Exception as exc:  # noqa: BLE001 - counted and reported
            key = f"{type(exc).__name__}: {str(exc)[:160]}"
            out["errors"][key] = out["errors"].get(key, 0) + 1
            continue
        if time.monotonic() > deadline:  # finished after the window: not counted in the rate
            out["late"] += 1
            continue
        out["payments"].append((marks[-1] - t0) * 1000)
        prev = t0
        for name, m in zip(STEPS, marks, strict=True):
            out["steps"][name].append((m - prev) * 1000)
            prev = m


async def run_proc(base: str, tokens: list[str], seconds: float, concurrency: int, cap: int, index: int) -> dict:
    out = {"payments": [], "steps": {s: [] for s in STEPS}, "errors": {}, "late": 0}
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        deadline = time.monotonic() + seconds
        budget = [cap]
        await asyncio.gather(*(worker(session, base, tokens[(index * concurrency + w) % len(tokens)], deadline,
                                      budget, out) for w in range(concurrency)))
    return out


def _proc(args: tuple, queue) -> None:
    queue.put(asyncio.run(run_proc(*args)))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--data", required=True, help="dir with seed.json (tokens)")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=8, help="payments in flight per process")
    p.add_argument("--max-payments", type=int, default=100_000, help="per process")
    a = p.parse_args()
    seed = json.loads((Path(a.data) / "seed.json").read_text())
    tokens = [u["token"] for u in seed["users"]]
    queue: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_proc, args=((a.base.rstrip("/"), tokens, a.seconds, a.concurrency, a.max_payments, i),
                                            queue)) for i in range(a.procs)]
    started = time.monotonic()
    for pr in procs:
        pr.start()
    results = [queue.get(timeout=a.seconds + 120) for _ in procs]
    for pr in procs:
        pr.join(timeout=10)
    wall = time.monotonic() - started
    lat = [x for r in results for x in r["payments"]]
    steps = {s: [x for r in results for x in r["steps"][s]] for s in STEPS}
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    doc = {
        "payments": len(lat), "seconds": a.seconds, "wall_seconds": round(wall, 2),
        "payments_per_s": round(len(lat) / a.seconds, 1), "requests_per_payment": 5,
        "requests_per_s": round(5 * len(lat) / a.seconds, 1),
        "latency_ms": {"p50": pct(lat, 50), "p90": pct(lat, 90), "p99": pct(lat, 99), "max": max(lat, default=None)},
        "steps_ms": {s: {"p50": pct(v, 50), "p99": pct(v, 99)} for s, v in steps.items()},
        "errors": errors, "late": sum(r["late"] for r in results),
        "procs": a.procs, "concurrency_per_proc": a.concurrency,
    }
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
