from __future__ import annotations

from application.errors import Forbidden
from entrypoints.http.endpoint import Ctx, endpoint, json_response

P = "/api/v1/admin"


def require_admin(ctx: Ctx) -> None:
    if not ctx.user.is_admin:
        raise Forbidden("administrators only")


@endpoint("GET", f"{P}/gateways", summary="Gateways: enabled, routes, breaker state", tag="admin")
async def gateways(ctx: Ctx):
    require_admin(ctx)
    registry = ctx.services.gateways
    result = []
    for name in registry.names():
        gateway = registry.get(name)
        state = getattr(gateway, "state", "closed")
        result.append({"name": name, "enabled": gateway is not None, "breaker": getattr(state, "value", state),
                       "currencies": sorted(getattr(gateway, "currencies", ()))})
    return json_response({"gateways": result})
