"""Gateway webhooks: the gateway's signature is the auth. A weakly authenticated gateway (MTN
MoMo: our reference and its token in the query string) gets a message stored only when it names
one of its own payments, and within what one source and one payment may make us store."""
from __future__ import annotations

from application.errors import RateLimited
from entrypoints.http import ops_schemas as ops
from entrypoints.http import problems
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.limits import check_rate, client_ip

P = "/api/v1/payment/webhooks/{gateway}"
routes = RouteTable("webhooks")


async def _unwanted(ctx: Ctx, name: str, raw: bytes):
    """None when a weakly signed message may go to the inbox; else the answer to send instead."""
    gateway = ctx.services.gateways.get(name)
    if gateway is None or not getattr(gateway, "weak_webhook_auth", False):
        return None
    headers, params = ctx.request.headers, ctx.request.query
    if not gateway.verify_webhook_signature(headers, raw, params):
        return None  # the intake refuses it (401), counted there
    try:
        reference = gateway.parse_webhook_event(headers, raw, params).reference
    except (ValueError, KeyError, TypeError):
        return None  # the intake refuses it (422)
    if reference and not await ctx.services.inbox_guard.names_a_payment_of(name, reference):
        return json_response({"received": True, "status": "ignored"})
    try:
        await check_rate(ctx.services, "webhook_store_ip", f"{name}|ip:{client_ip(ctx.request, ctx.services.trusted_proxies)}")
        if reference:
            await check_rate(ctx.services, "webhook_store_reference", f"{name}|{reference}")
    except RateLimited as exc:
        response = problems.from_exception(exc)
        response.headers.update(exc.headers)
        return response
    return None


async def receive(ctx: Ctx):
    """Verify on the raw bytes, store in the inbox (dedup), answer 2xx; processing follows at once
    and, if it fails, is retried by the worker from the inbox."""
    gateway = ctx.request.match_info["gateway"]
    raw = await ctx.request.read()
    refused = await _unwanted(ctx, gateway, raw)
    if refused is not None:
        return refused
    webhooks = ctx.services.webhooks
    entry, new = await webhooks.receive(gateway, ctx.request.headers, raw, ctx.request.query)
    status = "duplicate"
    if new:
        status = (await webhooks.process(entry.id, entry)).status.value
    return json_response({"received": True, "status": status})


routes.endpoint("POST", P, summary="Gateway webhook (the gateway's signature is the auth)", auth="none",
                response=ops.WebhookReceivedOut, rate_limit="webhook_ip")(receive)
routes.endpoint("PUT", P, summary="Gateway webhook sent with PUT (MTN MoMo)", auth="none",
                response=ops.WebhookReceivedOut, operation_id="webhooks_receive_put", rate_limit="webhook_ip")(receive)
