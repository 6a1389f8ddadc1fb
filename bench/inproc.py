"""CPU per request of the Python path alone, in one process, with no sockets and no load generator.

    .venv/bin/python bench/inproc.py [--ids 1000] [--requests 20000] [--repeats 5]

Raw HTTP/1.1 requests are fed to aiohttp's own protocol handler through an in-memory transport, one
at a time, for the bare baseline handler (bench/baseline.py) and for payport's cached order detail
(embedded default: memory adapters; ``--redis URL`` puts the cache in Redis behind the in-process
tier, as a deployment and bench/run with BENCH_REDIS_URL have it). ``--ids`` distinct orders are read round-robin, as the wrk
script does. It prints the fastest repeat of each (process CPU time per request) and their ratio.
The socket and kernel costs that bench/run includes are left out, so this isolates what payport's
code and its use of aiohttp add per request: a steadier figure for a before/after of the handler.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from pathlib import Path

from aiohttp import web

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]


class Transport(asyncio.Transport):
    """Collects what the server writes; resolves ``waiter`` once ``need`` responses have started."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = bytearray()
        self.last = b""
        self.count = self.need = 0
        self.waiter: asyncio.Future | None = None

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def is_closing(self) -> bool:
        return False

    def write(self, data) -> None:
        self.buffer += data
        self._check()

    def writelines(self, lines) -> None:
        for data in lines:
            self.buffer += data
        self._check()

    def _check(self) -> None:
        started = self.buffer.count(b"HTTP/1.1 ")
        if started:
            self.count += started
            self.last = bytes(self.buffer)
            self.buffer.clear()
        if self.waiter is not None and self.count >= self.need and not self.waiter.done():
            self.waiter.set_result(None)

    def close(self) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def set_write_buffer_limits(self, high=None, low=None) -> None: ...
    def get_write_buffer_size(self) -> int:
        return 0


class Connection:
    def __init__(self, runner: web.AppRunner, protocol, transport: Transport) -> None:
        self.runner, self.protocol, self.transport = runner, protocol, transport

    @classmethod
    async def to(cls, app: web.Application) -> Connection:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        protocol, transport = runner.server(), Transport()
        protocol.connection_made(transport)
        return cls(runner, protocol, transport)

    async def close(self) -> None:
        self.protocol.connection_lost(None)
        await self.runner.cleanup()

    async def send(self, raw: bytes) -> bytes:
        t = self.transport
        t.need, t.waiter = t.count + 1, asyncio.get_running_loop().create_future()
        self.protocol.data_received(raw)
        await t.waiter
        return t.last

    async def json(self, raw: bytes):
        head, _, body = (await self.send(raw)).partition(b"\r\n\r\n")
        return int(head.split(b" ")[1]), json.loads(body) if body else None


def request(method: str, path: str, headers: dict[str, str] | None = None, body: object = None) -> bytes:
    data = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1:8080", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    if data:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def cpu_per_request(conn: Connection, raws: list[bytes], n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for i in range(n):
            await conn.send(raws[i % len(raws)])
        best = min(best, (time.process_time() - started) / n * 1e6)
    return best


async def payport_detail_requests(ids: int, redis_url: str | None = None) -> tuple[Connection, list[bytes]]:
    """An owner, one order through checkout, and ``ids`` cached details (copies of its entry).
    With ``redis_url``, the cache is Redis behind the in-process tier, as a deployment has it."""
    from application import cache_keys
    from container import build_container
    from entrypoints.http.app import create_app
    from entrypoints.http.keys import SERVICES

    app = create_app(build_container({"redis_url": redis_url} if redis_url else {}))
    conn = await Connection.to(app)
    await conn.json(request("POST", "/api/v1/auth/register", body={"email": "in@proc.io", "password": "in-proc-pass", "name": "I"}))
    _, tokens = await conn.json(request("POST", "/api/v1/auth/login", body={"email": "in@proc.io", "password": "in-proc-pass"}))
    auth = {"Authorization": "Bearer " + tokens["access"]}
    _, co = await conn.json(request("POST", "/api/v1/checkout/initiate", auth, {"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]}))
    status, shipped = await conn.json(request("POST", "/api/v1/checkout/calculate-shipping", auth, {
        "checkout_id": co["checkout_id"], "address": {"country": "NG", "city": "Lagos", "line1": "1 Marina"}}))
    assert status == 200, shipped  # goods need a shipping decision before the checkout confirms
    status, order = await conn.json(request("POST", "/api/v1/checkout/confirm-order", auth, {"checkout_id": co["checkout_id"]}))
    assert status == 201, order
    first = request("GET", f"/api/v1/payment/orders/{order['id']}", auth)
    assert (await conn.json(first))[0] == 200
    store = app[SERVICES].cache.cache  # the memory cache or the tier: copy the rendered entry under other ids
    entry = store.peek(cache_keys.order(order["id"]))
    raws = [first]
    for k in range(1, ids):
        other = f"ord_inproc{k:016d}"
        await store.set(cache_keys.order(other), entry, 3600)
        raws.append(request("GET", f"/api/v1/payment/orders/{other}", auth))
    assert (await conn.json(raws[-1]))[0] == 200
    return conn, raws


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--ids", type=int, default=1000)
    p.add_argument("--requests", type=int, default=20000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--redis", metavar="URL", help="cache in Redis behind the in-process tier (as bench/run with"
                   " BENCH_REDIS_URL) instead of the embedded memory cache")
    args = p.parse_args()
    import baseline

    bare = web.Application()
    bare.router.add_get("/", baseline.handler)
    base = await Connection.to(bare)
    ours, raws = await payport_detail_requests(args.ids, args.redis)
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)  # as payport serve does
    b = await cpu_per_request(base, [request("GET", "/")], args.requests, args.repeats)
    o = await cpu_per_request(ours, raws, args.requests, args.repeats)
    print(json.dumps({"baseline_us": round(b, 2), "cached_detail_us": round(o, 2), "ratio": round(b / o, 3),
                      "ids": args.ids, "requests": args.requests, "repeats": args.repeats}))
    for conn in (base, ours):
        await conn.close()


def run(coro_fn) -> None:
    """Run ``coro_fn()`` on uvloop when it is installed, as ``payport serve`` does."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(coro_fn())


if __name__ == "__main__":
    run(main)
