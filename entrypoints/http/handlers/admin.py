from __future__ import annotations

from application.errors import Forbidden
from entrypoints.http.endpoint import Ctx, endpoint, json_response

P = "/api/v1/admin"


def require_admin(ctx: Ctx) -> None:
    if not ctx.user.is_admin:
        raise Forbidden("administrators only")


@endpoint("GET", f"{P}/gateways", summary="Gateways: breaker state, call counts, latency, currencies",
          tag="admin")
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
