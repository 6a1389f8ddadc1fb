"""The back office: admins only (a customer gets 403, a guest or no token 401). Orders, payments and
refunds across every user with filters; fulfilment and cancellation; a payment as support sees it;
failed webhooks (inspect, retry now); the fraud review queue; analytics; gateway configuration."""
from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from application.ports.backoffice import AdminFilters
from entrypoints.http import backoffice_schemas as b
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.handlers.admin import require_admin
from entrypoints.http.params import Page
from entrypoints.http.presenters import ts

P = "/api/v1/admin"
routes = RouteTable("backoffice", tag="admin")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _filters(q) -> AdminFilters:
    return AdminFilters(status=q.status, gateway=q.gateway, currency=q.currency, created_from=_utc(q.from_),
                        created_to=_utc(q.to), email=q.email, order_number=q.order_number,
                        needs_attention=getattr(q, "needs_attention", None))


def admin_order(order) -> dict:
    return {**present.order(order), "owner_id": order.owner_id, "customer_email": order.customer_email,
            "customer_name": order.customer_name, "payment_id": order.payment_id}


def webhook_summary(w) -> dict:
    return {"id": w.id, "gateway": w.gateway, "event_id": w.event_id, "type": w.type, "status": w.status.value,
            "reported_status": w.reported_status, "attempts": w.attempts, "last_error": w.last_error,
            "received_at": ts(w.received_at), "processed_at": ts(w.processed_at),
            "next_attempt_at": ts(w.next_attempt_at)}


def webhook_detail(detail) -> dict:
    w = detail.webhook
    return {**webhook_summary(w), "reference": w.reference, "signature_ok": w.signature_ok, "payload": detail.payload}


def verification(v) -> dict:
    return {"operation": v.operation, "at": ts(v.at), "found": v.found, "status": v.status,
            "raw_status": v.raw_status, "amount": v.amount, "currency": v.currency,
            "gateway_reference": v.gateway_reference, "payment_method": v.payment_method, "error": v.error}


def ledger_row(t) -> dict:
    return {"id": t.id, "type": t.type.value, "amount": t.amount, "currency": t.currency, "status": t.status.value,
            "gateway": t.gateway, "gateway_reference": t.gateway_reference, "refund_id": t.refund_id,
            "processed_at": ts(t.processed_at), "reconciled": t.reconciled}


def payment_detail(d) -> dict:
    verified = [verification(v) for v in d.verifications]
    return {**present.payment(d.payment), "order_number": d.order.order_number if d.order else None,
            "order_status": d.order.status.value if d.order else None,
            "customer_email": d.order.customer_email if d.order else None,
            "verified": verified[0] if verified else None, "verifications": verified,
            "webhooks": [webhook_summary(w) for w in d.webhooks], "ledger": [ledger_row(t) for t in d.ledger],
            "refunds": [present.refund(r) for r in d.refunds]}


def _id(ctx: Ctx, name: str) -> str:
    return ctx.request.match_info[name]


def _count(ctx: Ctx, order) -> None:
    ctx.services.metrics.order_transitions.labels(order.status.value).inc()


# -- orders -------------------------------------------------------------------------------------
@routes.endpoint("GET", f"{P}/orders", summary="Every customer's orders, filtered (status, gateway, currency, "
                 "from/to, customer email, order number)", response=s.page_of(b.AdminOrderOut), query=b.AdminOrdersQuery)
async def list_orders(ctx: Ctx):
    require_admin(ctx)
    q = ctx.query
    page = await ctx.services.backoffice.orders(ctx.user, _filters(q), q.limit, q.cursor)
    return json_response(present.page(page, admin_order))


@routes.endpoint("GET", P + "/orders/{order_id}", summary="One order with its customer and payments",
                 response=b.AdminOrderDetailOut)
async def get_order(ctx: Ctx):
    require_admin(ctx)
    order, payments = await ctx.services.backoffice.order(ctx.user, _id(ctx, "order_id"))
    return json_response({**admin_order(order), "payments": [present.payment(p) for p in payments]})


@routes.endpoint("POST", P + "/orders/{order_id}/fulfil", summary="paid -> processing: the order is being "
                 "fulfilled (optional carrier and tracking number); the customer is told", body=b.FulfilIn,
                 response=b.AdminOrderOut)
async def fulfil(ctx: Ctx):
    require_admin(ctx)
    body = ctx.body
    order = await ctx.services.fulfilment.fulfil(ctx.user, _id(ctx, "order_id"), carrier=body.carrier,
                                                 tracking_number=body.tracking_number, note=body.note)
    _count(ctx, order)
    return json_response(admin_order(order))


@routes.endpoint("POST", P + "/orders/{order_id}/complete", summary="processing -> completed; the customer is told",
                 body=b.CompleteIn, response=b.AdminOrderOut)
async def complete(ctx: Ctx):
    require_admin(ctx)
    order = await ctx.services.fulfilment.complete(ctx.user, _id(ctx, "order_id"), ctx.body.note)
    _count(ctx, order)
    return json_response(admin_order(order))


@routes.endpoint("POST", P + "/orders/{order_id}/status", summary="Move an order through a legal transition a "
                 "person may make (processing, completed, cancelled)", body=b.OrderStatusIn, response=b.AdminOrderOut)
async def set_status(ctx: Ctx):
    require_admin(ctx)
    body = ctx.body
    order = await ctx.services.fulfilment.set_status(ctx.user, _id(ctx, "order_id"), body.status.value,
                                                     note=body.note, carrier=body.carrier,
                                                     tracking_number=body.tracking_number)
    _count(ctx, order)
    return json_response(admin_order(order))


@routes.endpoint("POST", P + "/orders/{order_id}/cancel", summary="Cancel any order: a paid or processing one is "
                 "refunded what was captured and restocked", body=b.CancelIn, response=b.AdminOrderOut)
async def cancel(ctx: Ctx):
    require_admin(ctx)
    order = await ctx.services.order_cancellation.cancel(ctx.user, _id(ctx, "order_id"), ctx.body.reason)
    _count(ctx, order)
    return json_response(admin_order(order))


# -- payments and refunds -----------------------------------------------------------------------
@routes.endpoint("GET", f"{P}/payments", summary="Every payment, filtered (status, gateway, currency, from/to, "
                 "customer email, order number)", response=s.page_of(s.PaymentOut), query=b.AdminPaymentsQuery)
async def list_payments(ctx: Ctx):
    require_admin(ctx)
    q = ctx.query
    page = await ctx.services.backoffice.payments(ctx.user, _filters(q), q.limit, q.cursor)
    return json_response(present.page(page, present.payment))


@routes.endpoint("GET", P + "/payments/{payment_id}", summary="One payment as support sees it: gateway reference, "
                 "attempts, last error, what the gateway verified, its webhooks, ledger rows and refunds",
                 response=b.PaymentDetailOut)
async def get_payment(ctx: Ctx):
    require_admin(ctx)
    return json_response(payment_detail(await ctx.services.backoffice.payment(ctx.user, _id(ctx, "payment_id"))))


@routes.endpoint("POST", P + "/payments/{payment_id}/refund", summary="Refund any payment, fully (no amount) or "
                 "partly", body=b.AdminRefundIn, response=s.RefundOut, status=201, idempotency="required")
async def refund_payment(ctx: Ctx):
    require_admin(ctx)
    body = ctx.body
    refund = await ctx.services.backoffice.refund(ctx.user, _id(ctx, "payment_id"), amount=body.amount,
                                                  reason=body.reason, description=body.description,
                                                  idempotency_key=ctx.idempotency_key,
                                                  answer=ctx.staged and ctx.staged.recorder(201, present.refund))
    return json_response(present.refund(refund), 201)


@routes.endpoint("GET", f"{P}/refunds", summary="Every refund, filtered (status, gateway, currency, from/to, customer "
                 "email, order number, needs_attention)", response=s.page_of(s.RefundOut), query=b.AdminRefundsQuery)
async def list_refunds(ctx: Ctx):
    require_admin(ctx)
    q = ctx.query
    page = await ctx.services.backoffice.refund_list(ctx.user, _filters(q), q.limit, q.cursor)
    return json_response(present.page(page, present.refund))


@routes.endpoint("POST", f"{P}/refunds/{{refund_id}}/retry-with-customer-details",
                 summary="Send the customer's bank account for a refund its gateway holds until it has one "
                 "(Paystack needs-attention), with the gateway's retry call", body=b.RefundAccountIn,
                 response=s.RefundOut)
async def retry_refund_with_customer_details(ctx: Ctx):
    require_admin(ctx)
    body = ctx.body
    refund = await ctx.services.backoffice.retry_refund_with_customer_details(
        ctx.user, _id(ctx, "refund_id"), account_number=body.account_number, bank_id=body.bank_id)
    return json_response(present.refund(refund))


# -- webhooks -----------------------------------------------------------------------------------
@routes.endpoint("GET", P + "/webhooks/{webhook_id}", summary="One stored webhook (its body with personal data "
                 "redacted)", response=b.WebhookDetailOut)
async def get_webhook(ctx: Ctx):
    require_admin(ctx)
    return json_response(webhook_detail(await ctx.services.backoffice.webhook(ctx.user, _id(ctx, "webhook_id"))))


@routes.endpoint("POST", P + "/webhooks/{webhook_id}/retry", summary="Process a stored webhook again now",
                 response=b.WebhookDetailOut)
async def retry_webhook(ctx: Ctx):
    require_admin(ctx)
    detail = await ctx.services.backoffice.retry_webhook(ctx.user, _id(ctx, "webhook_id"))
    return json_response(webhook_detail(detail))


# -- the fraud review queue ---------------------------------------------------------------------
@routes.endpoint("GET", f"{P}/fraud/reviews", summary="Payments held for a person before their gateway (oldest "
                 "first)", response=s.page_of(s.PaymentOut), query=Page)
async def list_reviews(ctx: Ctx):
    require_admin(ctx)
    page = await ctx.services.backoffice.reviews(ctx.user, ctx.query.limit, ctx.query.cursor)
    return json_response(present.page(page, present.payment))


@routes.endpoint("POST", P + "/fraud/reviews/{payment_id}/approve", summary="Approve a held payment: it goes on to "
                 "its gateway (the answer carries authorization_url)", response=s.PaymentOut)
async def approve_review(ctx: Ctx):
    require_admin(ctx)
    return json_response(present.payment(await ctx.services.backoffice.approve(ctx.user, _id(ctx, "payment_id"))))


@routes.endpoint("POST", P + "/fraud/reviews/{payment_id}/reject", summary="Reject a held payment: it fails and "
                 "the customer is told", body=b.RejectIn, response=s.PaymentOut)
async def reject_review(ctx: Ctx):
    require_admin(ctx)
    payment = await ctx.services.backoffice.reject(ctx.user, _id(ctx, "payment_id"), ctx.body.reason)
    return json_response(present.payment(payment))


@routes.endpoint("GET", f"{P}/fraud/rules", summary="The fraud rules in force (PAYPORT_FRAUD_FILE)",
                 response=b.FraudRulesOut)
async def fraud_rules(ctx: Ctx):
    require_admin(ctx)
    return json_response(ctx.services.fraud_rules.to_dict())


# -- analytics ----------------------------------------------------------------------------------
@routes.endpoint("GET", f"{P}/analytics/summary", summary="Revenue by day, currency and gateway, success and refund "
                 "rates, average order value, orders by status, top products, in one reporting currency "
                 "(cached 10 minutes)", response=b.AnalyticsOut, query=b.AnalyticsQuery)
async def analytics_summary(ctx: Ctx):
    require_admin(ctx)
    q = ctx.query
    body = await ctx.services.analytics.summary(q.from_, q.to, q.currency.upper() if q.currency else None)
    return web.Response(body=body, content_type="application/json", headers={"Cache-Control": "private, no-store"})


# -- gateway configuration ----------------------------------------------------------------------
@routes.endpoint("GET", f"{P}/gateways/config", summary="The routing table, which gateways take new payments and "
                 "their limits (no secret is ever shown)", response=b.GatewayConfigOut)
async def gateway_config(ctx: Ctx):
    require_admin(ctx)
    return json_response(await ctx.services.gateway_config.view(ctx.user))


@routes.endpoint("PUT", f"{P}/gateways/config/routes", summary="Replace the routing table (applied without a "
                 "restart)", body=b.RoutesIn, response=b.GatewayConfigOut)
async def set_routes(ctx: Ctx):
    require_admin(ctx)
    return json_response(await ctx.services.gateway_config.set_routes(ctx.user, ctx.body.routes, ctx.body.version))


@routes.endpoint("PATCH", P + "/gateways/config/{gateway}", summary="Enable or disable a gateway for new payments, "
                 "set its per-currency limits (applied without a restart)", body=b.GatewayConfigIn,
                 response=b.GatewayConfigOut)
async def set_gateway(ctx: Ctx):
    require_admin(ctx)
    body = ctx.body
    limits = None if body.limits is None else {c: lim.model_dump() for c, lim in body.limits.items()}
    return json_response(await ctx.services.gateway_config.set_gateway(
        ctx.user, _id(ctx, "gateway"), enabled=body.enabled, limits=limits, version=body.version))

