"""Merchant webhook endpoints (admins only): register one (its signing secret is in that answer
only), list, change, delete, rotate the secret (the new one shown once, the old one signing through
an overlap window), the delivery log with each attempt, redelivery and a test event. Deliveries are
sent by the worker (``payport worker``, or ``payport serve`` on the embedded default)."""
from __future__ import annotations

from application.ports.deliveries import Delivery
from domain import merchant_webhooks as mw
from entrypoints.http import merchant_webhook_schemas as m
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http import shop_schemas as shop
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.handlers.admin import require_admin
from entrypoints.http.params import Page
from entrypoints.http.presenters import ts

P = "/api/v1/admin/merchant-webhooks"
ONE = P + "/{endpoint_id}"
NO_STORE = {"Cache-Control": "no-store"}
routes = RouteTable("merchant_webhooks", tag="admin")


def endpoint_view(e: mw.Endpoint, now) -> dict:
    """An endpoint as the admins see it: never a secret."""
    active = [sec for sec in e.secrets if sec.active(now)]
    ending = [sec.expires_at for sec in active if sec.expires_at is not None]
    return {"id": e.id, "url": e.url, "events": list(e.events), "description": e.description, "enabled": e.enabled,
            "disabled_reason": e.disabled_reason, "failing_since": ts(e.failing_since),
            "signing_secrets": len(active), "previous_secret_expires_at": ts(max(ending)) if ending else None,
            "created_at": ts(e.created_at), "updated_at": ts(e.updated_at)}


def delivery_view(d: Delivery, attempts) -> dict:
    return {"id": d.id, "endpoint_id": d.payload["endpoint_id"], "webhook_id": d.payload["msg_id"],
            "type": d.payload["type"], "status": d.status.value, "attempts": d.attempts,
            "max_attempts": d.max_attempts,
            "next_attempt_at": ts(d.next_attempt_at) if d.status.value in ("pending", "failed") else None,
            "last_error": d.last_error, "created_at": ts(d.created_at), "delivered_at": ts(d.delivered_at),
            "message": d.payload["message"],
            "attempt_log": [{"attempt": a.attempt, "started_at": ts(a.started_at), "latency_ms": a.duration_ms,
                             "outcome": a.outcome.value, "status_code": a.status_code, "response": a.detail}
                            for a in attempts]}


def _now(ctx: Ctx):
    return ctx.services.merchant_webhooks.clock.now()


def _id(ctx: Ctx) -> str:
    return ctx.request.match_info["endpoint_id"]


def _answer(ctx: Ctx, payload: dict, status: int = 200):
    return json_response(payload, status, headers=dict(NO_STORE))


@routes.endpoint("GET", P, summary="Merchant webhook endpoints, oldest first (no secret is ever shown)",
                 response=s.page_of(m.EndpointOut), query=Page)
async def list_endpoints(ctx: Ctx):
    require_admin(ctx)
    page = await ctx.services.merchant_webhooks.page(ctx.query.limit, ctx.query.cursor)
    now = _now(ctx)
    return _answer(ctx, present.page(page, lambda e: endpoint_view(e, now)))


@routes.endpoint("POST", P, summary="Register an endpoint: URL, event types (none: all), description; the answer "
                 "carries its signing secret, shown this once", body=m.EndpointIn, response=m.EndpointCreatedOut,
                 status=201)
async def create_endpoint(ctx: Ctx):
    require_admin(ctx)
    body = ctx.body
    endpoint = await ctx.services.merchant_webhooks.create(body.url, body.events, body.description)
    return _answer(ctx, {**endpoint_view(endpoint, _now(ctx)), "secret": endpoint.secret}, 201)


@routes.endpoint("GET", ONE, summary="One merchant webhook endpoint (no secret)", response=m.EndpointOut)
async def get_endpoint(ctx: Ctx):
    require_admin(ctx)
    return _answer(ctx, endpoint_view(await ctx.services.merchant_webhooks.get(_id(ctx)), _now(ctx)))


@routes.endpoint("PATCH", ONE, summary="Change an endpoint's URL, event types or description; enable or disable "
                 "it", body=m.EndpointPatchIn, response=m.EndpointOut)
async def update_endpoint(ctx: Ctx):
    require_admin(ctx)
    b = ctx.body
    endpoint = await ctx.services.merchant_webhooks.update(_id(ctx), url=b.url, events=b.events,
                                                           description=b.description, enabled=b.enabled)
    return _answer(ctx, endpoint_view(endpoint, _now(ctx)))


@routes.endpoint("DELETE", ONE, summary="Delete an endpoint (its pending deliveries are dropped when due)",
                 response=shop.DeletedOut)
async def delete_endpoint(ctx: Ctx):
    require_admin(ctx)
    await ctx.services.merchant_webhooks.delete(_id(ctx))
    return _answer(ctx, {"deleted": True})


@routes.endpoint("POST", ONE + "/rotate-secret", summary="A new signing secret, shown this once; the old one "
                 "keeps signing beside it for overlap_hours (24 by default)", body=m.RotateIn,
                 response=m.SecretRotatedOut)
async def rotate_secret(ctx: Ctx):
    require_admin(ctx)
    endpoint = await ctx.services.merchant_webhooks.rotate(_id(ctx), ctx.body.overlap_hours)
    return _answer(ctx, {**endpoint_view(endpoint, _now(ctx)), "secret": endpoint.secret})


@routes.endpoint("GET", ONE + "/deliveries", summary="The endpoint's delivery log, newest first: each delivery "
                 "with its attempts (status code, latency, the receiver's answer)", response=s.page_of(m.DeliveryOut),
                 query=Page)
async def list_deliveries(ctx: Ctx):
    require_admin(ctx)
    page = await ctx.services.merchant_webhooks.deliveries(_id(ctx), ctx.query.limit, ctx.query.cursor)
    return _answer(ctx, present.page(page, lambda item: delivery_view(item.delivery, item.attempts)))


@routes.endpoint("POST", ONE + "/deliveries/{delivery_id}/redeliver", summary="Send one delivery's message again "
                 "(same webhook-id); the worker sends it", response=m.DeliveryOut, status=202)
async def redeliver(ctx: Ctx):
    require_admin(ctx)
    delivery = await ctx.services.merchant_webhooks.redeliver(_id(ctx), ctx.request.match_info["delivery_id"])
    return _answer(ctx, delivery_view(delivery, []), 202)


@routes.endpoint("POST", ONE + "/test", summary="Send the endpoint a webhook.test event; the worker sends it",
                 response=m.DeliveryOut, status=202)
async def send_test(ctx: Ctx):
    require_admin(ctx)
    delivery = await ctx.services.merchant_webhooks.send_test(_id(ctx))
    return _answer(ctx, delivery_view(delivery, []), 202)
