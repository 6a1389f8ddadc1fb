"""Seed a running payport through its HTTP API only (no direct storage access).

    python bench/seed.py seed    --base URL --out DIR [--orders N] [--paid-fraction F] [--users U]
    python bench/seed.py intents --base URL --out DIR --count K      (pending sandbox intents for the webhook scenario)
    python bench/seed.py sign    --out DIR --secret S                 (sign one webhook per intent: DIR/webhooks.txt)

Writes files the wrk Lua scripts read: token.txt, orders.txt, payments.txt, webhooks.txt.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import time
import uuid
from pathlib import Path

import aiohttp

API = "/api/v1"
PASSWORD = "correct horse battery staple"
ITEMS = [{"sku": "NG-RICE-5KG", "quantity": 1}]


class Http:
    def __init__(self, base: str, concurrency: int = 16) -> None:
        self.base = base.rstrip("/")
        self.sem = asyncio.Semaphore(concurrency)
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Http:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                             timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.session is not None
        await self.session.close()

    async def call(self, method: str, path: str, *, token: str | None = None, json_body=None, data=None,
                   key: str | None = None, expect=(200, 201), allow_redirects: bool = False):
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        url = path if path.startswith("http") else self.base + path
        async with self.sem:
            assert self.session is not None
            async with self.session.request(method, url, headers=headers, json=json_body, data=data,
                                            allow_redirects=allow_redirects) as r:
                text = await r.read()
                if r.status not in expect:
                    raise RuntimeError(f"{method} {path} -> {r.status}: {text[:300]!r}")
                if r.status in (301, 302, 303, 307):
                    return r.status, r.headers["Location"]
                return r.status, (json.loads(text) if text and r.content_type.endswith("json") else text)


async def user(http: Http, email: str) -> tuple[str, str]:
    await http.call("POST", f"{API}/auth/register", json_body={"email": email, "password": PASSWORD, "name": "Bench"},
                    expect=(200, 201, 409))
    _, tokens = await http.call("POST", f"{API}/auth/login", json_body={"email": email, "password": PASSWORD})
    _, me = await http.call("GET", f"{API}/auth/me", token=tokens["access"])
    return me["id"], tokens["access"]


async def order(http: Http, token: str) -> dict:
    _, chk = await http.call("POST", f"{API}/checkout/initiate", token=token, json_body={"items": ITEMS})
    # goods need a shipping decision before the checkout confirms
    await http.call("POST", f"{API}/checkout/calculate-shipping", token=token, json_body={
        "checkout_id": chk["checkout_id"], "address": {"country": "NG", "city": "Lagos", "line1": "1 Marina"}})
    _, o = await http.call("POST", f"{API}/checkout/confirm-order", token=token,
                           json_body={"checkout_id": chk["checkout_id"]})
    return o


async def intent(http: Http, token: str, order_id: str) -> dict:
    _, p = await http.call("POST", f"{API}/payment/payments/initiate", token=token, key="seed-" + uuid.uuid4().hex,
                           json_body={"order_id": order_id})
    return p


async def pay(http: Http, token: str, order_id: str) -> dict:
    """confirm is done; initiate -> approve on the sandbox page (webhook in-process) -> callback."""
    p = await intent(http, token, order_id)
    _, location = await http.call("POST", p["authorization_url"], data={"outcome": "approve"}, expect=(303,))
    _, settled = await http.call("GET", location)
    if settled["status"] != "succeeded":
        raise RuntimeError(f"payment {p['id']} ended {settled['status']}")
    return settled


async def gather_bounded(coros, limit: int = 64):
    out = []
    batch: list = []
    for c in coros:
        batch.append(c)
        if len(batch) >= limit:
            out += await asyncio.gather(*batch)
            batch = []
    out += await asyncio.gather(*batch)
    return out


async def seed(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = args.tag or uuid.uuid4().hex[:8]
    started = time.monotonic()
    async with Http(args.base, args.concurrency) as http:
        users = await asyncio.gather(*(user(http, f"bench{i}-{tag}@example.com") for i in range(args.users)))
        uid, token = users[0]
        orders = await gather_bounded(order(http, token) for _ in range(args.orders))
        n_paid = int(len(orders) * args.paid_fraction)
        paid = await gather_bounded(pay(http, token, o["id"]) for o in orders[:n_paid])
    doc = {"base": args.base, "user_id": uid, "token": token, "users": [{"id": u, "token": t} for u, t in users],
           "orders": [o["id"] for o in orders], "paid_orders": [o["id"] for o in orders[:n_paid]],
           "paid_payments": [p["id"] for p in paid], "seconds": round(time.monotonic() - started, 2)}
    (out / "seed.json").write_text(json.dumps(doc, indent=1))
    (out / "token.txt").write_text(token + "\n")
    (out / "orders.txt").write_text("\n".join(doc["orders"]) + "\n")
    print(json.dumps({"orders": len(orders), "paid": len(paid), "users": len(users), "seconds": doc["seconds"]}))


async def intents(args) -> None:
    out = Path(args.out)
    doc = json.loads((out / "seed.json").read_text())
    started = time.monotonic()
    async with Http(args.base, args.concurrency) as http:
        token = doc["token"]

        async def one():
            o = await order(http, token)
            return await intent(http, token, o["id"])
        made = await gather_bounded((one() for _ in range(args.count)), 128)
    rows = [{"id": p["id"], "reference": p["reference"], "amount": p["amount"], "currency": p["currency"]} for p in made]
    (out / "intents.json").write_text(json.dumps(rows))
    print(json.dumps({"intents": len(rows), "seconds": round(time.monotonic() - started, 2)}))


def sign(args) -> None:
    """One signed ``payment.approved`` sandbox webhook per pre-created intent (signature as
    adapters/gateways/sandbox.py: t=<unix>,v1=hex(HMAC-SHA256(secret, f"{t}." + body)))."""
    out = Path(args.out)
    rows = json.loads((out / "intents.json").read_text())
    t = int(time.time())
    lines = []
    for r in rows:
        txn_id = "sbx_" + hashlib.sha256(r["reference"].encode()).hexdigest()[:20]
        body = json.dumps({"id": f"evt_{txn_id}_approved", "type": "payment.approved",
                           "data": {"reference": r["reference"], "id": txn_id, "amount": r["amount"],
                                    "currency": r["currency"], "status": "approved"}},
                          separators=(",", ":")).encode()
        mac = hmac.new(args.secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        lines.append(f"t={t},v1={mac}\t{body.decode()}")
    (out / "webhooks.txt").write_text("\n".join(lines) + "\n")
    (out / "payments.txt").write_text("\n".join(r["id"] for r in rows) + "\n")
    print(json.dumps({"signed": len(lines), "timestamp": t}))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=("seed", "intents", "sign"))
    p.add_argument("--base", default=os.environ.get("BENCH_BASE", "http://127.0.0.1:18080"))
    p.add_argument("--out", required=True)
    p.add_argument("--orders", type=int, default=2000)
    p.add_argument("--paid-fraction", type=float, default=0.2)
    p.add_argument("--users", type=int, default=4)
    p.add_argument("--count", type=int, default=4000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--secret", default=os.environ.get("PAYPORT_SANDBOX_WEBHOOK_SECRET", ""))
    p.add_argument("--tag", default="")
    args = p.parse_args()
    if args.command == "sign":
        sign(args)
    else:
        asyncio.run({"seed": seed, "intents": intents}[args.command](args))


if __name__ == "__main__":
    main()
