from __future__ import annotations

from application import cache_keys as keys
from entrypoints.http import cached
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.handlers.orders import SYSTEM, owner_segment
from entrypoints.http.queries import RefundsQuery

P = "/api/v1/payment/refunds"
routes = RouteTable("refunds")


@routes.endpoint("GET", P, summary="List your refunds (admins: all)", response=s.page_of(s.RefundOut),
                 query=RefundsQuery,
                 cached=cached.page("refund", "refund_list", lambda user: keys.refunds(owner_segment(user))))
async def list_refunds(ctx: Ctx):
    q = ctx.query
    page = await ctx.services.refunds.list(ctx.user, payment_id=q.payment_id, limit=q.limit, cursor=q.cursor)
    return None, present.page(page, present.refund)


@routes.endpoint("POST", P, summary="Refund a succeeded payment, fully (no amount) or partly",
                 body=s.RefundIn, response=s.RefundOut, status=201, idempotency="required",
                 rate_limit=("refund_create", "refund_create_ip"))
async def create_refund(ctx: Ctx):
    b = ctx.body
    # the answer is stored by the settlement's transaction (3 transactions, not 4); when the refund
    # is left open (no settlement now), ``idempotent`` stores this answer afterwards as before
    refund = await ctx.services.refunds.request(ctx.user, payment_id=b.payment_id, amount=b.amount, reason=b.reason,
                                                description=b.description, idempotency_key=ctx.idempotency_key,
                                                answer=ctx.staged and ctx.staged.recorder(201, present.refund))
    return json_response(present.refund(refund), 201)


@routes.endpoint("GET", P + "/{refund_id}", summary="One refund", response=s.RefundOut,
                 cached=cached.one("refund", "refund", lambda path: keys.refund(path["refund_id"])))
async def get_refund(ctx: Ctx):
    refund = await ctx.services.refunds.get(SYSTEM, ctx.request.match_info["refund_id"])
    return refund.owner_id, present.refund(refund), None if refund.is_final else "live"
