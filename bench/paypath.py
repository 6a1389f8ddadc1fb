"""The full pay path per second: a multi-process asyncio client (the steps depend on each other).

One payment = checkout/initiate -> checkout/calculate-shipping -> checkout/confirm-order -> payments/initiate (sandbox gateway,
unique Idempotency-Key) -> POST the sandbox page with outcome=approve (the signed webhook is delivered
in-process: verify -> inbox -> settle) -> GET the 303's callback (verify with the gateway, settle).
A payment counts only when the callback answers 200 with status "succeeded".

    python bench/paypath.py --base URL --data DIR --seconds 10 --procs 2 --concurrency 8

Prints one JSON document: payments/s, payment latency percentiles (ms), per-step percentiles, errors.
Each in-flight payment has its own keep-alive connection (a minimal HTTP/1.1 client: see ``Conn``).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit


API = "/api/v1"
STEPS = ("checkout_initiate", "shipping", "confirm", "payment_initiate", "sandbox_approve", "callback")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100 * len(s) + 0.5)) - 1))]


class Conn:
    """One keep-alive HTTP/1.1 connection with just what the pay path needs (Content-Length bodies).

    The load generator shares the 2 cores with the service, so it should cost little: aiohttp's client
    took ~0.2 of a core at ~450 req/s; this takes a fraction of that (bench/RESULTS.md)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, headers: dict[str, str] | None = None,
                      body: bytes = b"", content_type: str = "application/json") -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        answer = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                answer[name.strip().lower()] = value.strip()
        if "chunked" in answer.get("transfer-encoding", ""):
            raise RuntimeError("chunked responses are not expected from payport")
        data = await self.reader.readexactly(int(answer.get("content-length", "0")))
        if answer.get("connection", "").lower() == "close":
            await self.close()
        return int(status_line.split(" ", 2)[1]), answer, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = self.reader = None


async def worker(conn: Conn, token: str, deadline: float, cap: list[int], out: dict) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < deadline and cap[0] > 0:
        cap[0] -= 1
        t0 = time.perf_counter()
        marks = []
        try:
            status, _, raw = await conn.request("POST", f"{API}/checkout/initiate", auth,
                                                json.dumps({"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]}).encode())
            body = json.loads(raw)
            assert status == 201, (status, body)
            marks.append(time.perf_counter())
            # goods need a shipping decision before the checkout confirms (as bench/seed.py does)
            status, _, raw = await conn.request("POST", f"{API}/checkout/calculate-shipping", auth, json.dumps({
                "checkout_id": body["checkout_id"],
                "address": {"country": "NG", "city": "Lagos", "line1": "1 Marina"}}).encode())
            assert status == 200, (status, raw[:200])
            marks.append(time.perf_counter())
            status, _, raw = await conn.request("POST", f"{API}/checkout/confirm-order", auth,
                                                json.dumps({"checkout_id": body["checkout_id"]}).encode())
            order = json.loads(raw)
            assert status in (200, 201), (status, order)
            marks.append(time.perf_counter())
            status, _, raw = await conn.request("POST", f"{API}/payment/payments/initiate",
                                                auth | {"Idempotency-Key": "bench-pay-" + uuid.uuid4().hex},
                                                json.dumps({"order_id": order["id"]}).encode())
            payment = json.loads(raw)
            assert status == 201, (status, payment)
            marks.append(time.perf_counter())
            page = urlsplit(payment["authorization_url"])
            status, headers, _ = await conn.request("POST", page.path, None, b"outcome=approve",
                                                    "application/x-www-form-urlencoded")
            assert status == 303, status
            marks.append(time.perf_counter())
            status, _, raw = await conn.request("GET", headers["location"])
            settled = json.loads(raw)
            assert status == 200 and settled["status"] == "succeeded", (status, settled)
            marks.append(time.perf_counter())
        except Exception as exc:  # noqa: BLE001 - counted and reported
            key = f"{type(exc).__name__}: {str(exc)[:160]}"
            out["errors"][key] = out["errors"].get(key, 0) + 1
            await conn.close()  # a half-read answer would poison the next request
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
    where = urlsplit(base)
    conns = [Conn(where.hostname, where.port) for _ in range(concurrency)]
    deadline = time.monotonic() + seconds
    budget = [cap]
    await asyncio.gather(*(worker(conn, tokens[(index * concurrency + w) % len(tokens)], deadline, budget, out)
                           for w, conn in enumerate(conns)))
    for conn in conns:
        await conn.close()
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
        "requests_per_s": round(len(STEPS) * len(lat) / a.seconds, 1),
        "latency_ms": {"p50": pct(lat, 50), "p90": pct(lat, 90), "p99": pct(lat, 99), "max": max(lat, default=None)},
        "steps_ms": {s: {"p50": pct(v, 50), "p99": pct(v, 99)} for s, v in steps.items()},
        "errors": errors, "late": sum(r["late"] for r in results),
        "procs": a.procs, "concurrency_per_proc": a.concurrency,
    }
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
