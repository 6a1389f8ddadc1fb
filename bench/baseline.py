"""The baseline: a bare aiohttp app, one route returning a fixed 1 KB JSON body.

Same event loop and ``web.run_app`` settings as ``payport serve`` (uvloop when it is installed, as
``payport serve`` does unless PAYPORT_UVLOOP=off; ``print=None, access_log=None``), so the ratio
payport/baseline isolates what payport adds per request.
Usage: python bench/baseline.py --port 18100
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os

from aiohttp import web


def body_1kb() -> bytes:
    """Exactly 1024 bytes of compact JSON shaped like an order."""
    items = [{"sku": f"SKU-{i:04d}", "quantity": 1, "unit_price": 850000} for i in range(12)]
    doc = {"id": "ord_0000000000000000000000", "status": "paid", "currency": "NGN", "items": items, "pad": ""}
    doc["pad"] = "x" * (1024 - len(json.dumps(doc, separators=(",", ":"))))
    raw = json.dumps(doc, separators=(",", ":")).encode()
    assert len(raw) == 1024, len(raw)
    return raw


BODY = body_1kb()


async def handler(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type="application/json")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=18100)
    a = p.parse_args()
    app = web.Application()
    app.router.add_get("/", handler)
    if os.environ.get("PAYPORT_UVLOOP", "on") != "off":
        try:
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        except ImportError:
            pass
    web.run_app(app, host=a.host, port=a.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
