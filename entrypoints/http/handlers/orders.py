from __future__ import annotations

from application import cache_keys as keys
from domain.orders import OrderStatus
from domain.users import Principal, Role
from entrypoints.http import cached
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.queries import OrdersQuery

P = "/api/v1/payment/orders"
routes = RouteTable("orders")
SYSTEM = Principal("system", Role.ADMIN)


def owner_segment(principal: Principal | None) -> str:
    """Whose lists a cached page belongs to: the caller's own, or every admin's one view of all."""
    assert principal is not None, "a per-owner list requires authentication"
    return keys.ADMIN if principal.is_admin else principal.id


@routes.endpoint("GET", P, summary="List your orders (admins: all)", response=s.page_of(s.OrderOut),
                 query=OrdersQuery,
                 cached=cached.page("order_list", "order_list", lambda user: keys.orders(owner_segment(user))))
async def list_orders(ctx: Ctx):
    q = ctx.query
    page = await ctx.services.orders.list(ctx.user, status=q.status, workspace_id=q.workspace, search=q.search,
                                          limit=q.limit, cursor=q.cursor)
    return None, present.page(page, present.order)


@routes.endpoint("POST", P, summary="Create an order directly from items", body=s.OrderCreateIn,
                 response=s.OrderOut, status=201, rate_limit=("order_create", "order_create_ip"))
async def create_order(ctx: Ctx):
    order = await ctx.services.orders.create(ctx.user, [(i.sku, i.quantity) for i in ctx.body.items],
                                             ctx.body.workspace_id, ctx.idempotency_key)
    return json_response(present.order(order), 201)


@routes.endpoint("GET", P + "/{order_id}", summary="One order", response=s.OrderOut,
                 cached=cached.one("order", "order", lambda path: keys.order(path["order_id"])))
async def get_order(ctx: Ctx):
    order = await ctx.services.orders.get(SYSTEM, ctx.request.match_info["order_id"])
    return order.owner_id, present.order(order), "live" if order.status is OrderStatus.PENDING else None


@routes.endpoint("POST", P + "/{order_id}/cancel", summary="Cancel an order: its stock goes back; a paid or "
                 "processing one (the customer within the policy window, an admin always) is refunded what was "
                 "captured", response=s.OrderOut)
async def cancel_order(ctx: Ctx):
    order = await ctx.services.order_cancellation.cancel(ctx.user, ctx.request.match_info["order_id"])
    return json_response(present.order(order))
