"""Health, metrics and the OpenAPI document (the docs page is ``handlers/docs.py``)."""
from __future__ import annotations

import asyncio

from aiohttp import web

from entrypoints.http import ops_schemas as ops
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.keys import OPENAPI

routes = RouteTable("ops")


@routes.endpoint("GET", "/health/live", summary="The process is up", auth="none", response=ops.LiveOut)
async def live(ctx: Ctx):
    return json_response({"status": "ok"})


@routes.endpoint("GET", "/health/ready", summary="Every adapter answers (503 names the one that does not)",
                 auth="none", response=ops.ReadyOut)
async def ready(ctx: Ctx):
    checks = ctx.services.health_checks
    results = await asyncio.gather(*(_check(fn) for fn in checks.values()))
    report = dict(zip(checks, results, strict=True))
    ok = all(r == "ok" for r in report.values())
    headers = None if ok else {"Retry-After": "5"}
    return json_response({"status": "ok" if ok else "unavailable", "checks": report}, 200 if ok else 503, headers)


async def _check(fn) -> str:
    try:
        await asyncio.wait_for(fn(), timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"down: {type(exc).__name__}"


@routes.endpoint("GET", "/metrics", summary="Prometheus metrics", auth="none", content_type="text/plain")
async def metrics(ctx: Ctx):
    return web.Response(body=ctx.services.metrics.render(), content_type="text/plain",
                        headers={"Cache-Control": "no-store"})


@routes.endpoint("GET", "/openapi.json", summary="This API's OpenAPI 3.1 description", auth="none",
                 response=ops.OpenApiOut)
async def openapi(ctx: Ctx):
    return web.Response(body=ctx.request.app[OPENAPI].body(), content_type="application/json")

