from __future__ import annotations

from entrypoints.http import ops_schemas as ops
from entrypoints.http.endpoint import Ctx, RouteTable, json_response

P = "/api/v1/payment/webhooks/{gateway}"
routes = RouteTable("webhooks")


async def receive(ctx: Ctx):
    """Verify on the raw bytes, store in the inbox (dedup), answer 2xx; processing follows at once
    and, if it fails, is retried by the worker from the inbox."""
    gateway = ctx.request.match_info["gateway"]
    raw = await ctx.request.read()
    webhooks = ctx.services.webhooks
    entry, new = await webhooks.receive(gateway, ctx.request.headers, raw, ctx.request.query)
    status = "duplicate"
    if new:
        status = (await webhooks.process(entry.id, entry)).status.value
    return json_response({"received": True, "status": status})


routes.endpoint("POST", P, summary="Gateway webhook (the gateway's signature is the auth)", auth="none",
                response=ops.WebhookReceivedOut)(receive)
routes.endpoint("PUT", P, summary="Gateway webhook sent with PUT (MTN MoMo)", auth="none",
                response=ops.WebhookReceivedOut, operation_id="webhooks_receive_put")(receive)
