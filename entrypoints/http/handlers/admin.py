from __future__ import annotations

from application.errors import Forbidden, Unauthorized
from entrypoints.http import ops_schemas as ops
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.presenters import ts
from entrypoints.http.queries import FailedWebhooksQuery

P = "/api/v1/admin"
routes = RouteTable("admin")


def require_admin(ctx: Ctx) -> None:
    """Admins only: a guest is no signed-in user (401), a customer is not allowed (403)."""
    if ctx.user.is_guest:
        raise Unauthorized("sign in as an administrator")
    if not ctx.user.is_admin:
        raise Forbidden("administrators only")


@routes.endpoint("GET", f"{P}/gateways", summary="Gateways: breaker state, call counts, latency, currencies",
                 response=ops.GatewaysOut)
async def gateways(ctx: Ctx):
    require_admin(ctx)
    registry, metrics = ctx.services.gateways, ctx.services.metrics
    result = []
    for name in registry.names():
        gateway = registry.get(name)
        breaker = gateway.health() if hasattr(gateway, "health") else {"state": "closed"}
        result.append({"name": name, "enabled": True, "breaker": breaker,
                       "currencies": sorted(gateway.currencies), **metrics.gateway_stats(name)})
    disabled = [{"name": name, "enabled": False, "reason": settings.disabled_reason}
                for name, settings in ctx.services.gateway_settings.items() if not settings.enabled]
    return json_response({"gateways": result + disabled})


@routes.endpoint("GET", f"{P}/webhooks/failed", summary="Webhooks whose processing failed (retried by the worker), "
                 "newest first", response=ops.FailedWebhooksOut, query=FailedWebhooksQuery)
async def failed_webhooks(ctx: Ctx):
    require_admin(ctx)
    page = await ctx.services.backoffice.failed_webhooks(ctx.user, ctx.query.limit, ctx.query.cursor)
    return json_response({"results": [
        {"id": w.id, "gateway": w.gateway, "event_id": w.event_id, "type": w.type, "reference": w.reference,
         "attempts": w.attempts, "last_error": w.last_error, "received_at": ts(w.received_at),
         "next_attempt_at": ts(w.next_attempt_at)} for w in page.results], "next_cursor": page.next_cursor})


@routes.endpoint("GET", f"{P}/reconciliation", summary="Broken money invariants (what payport reconcile reports)",
                 response=ops.ReconciliationOut)
async def reconciliation(ctx: Ctx):
    require_admin(ctx)
    report = await ctx.services.maintenance.reconcile_report(repair=False)
    return json_response({"findings": [{"kind": f.kind, "subject": f.subject, "detail": f.detail}
                                       for f in report.findings],
                          "covered": report.covered, "as_of": ts(report.started_at)})
