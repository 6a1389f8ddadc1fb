from __future__ import annotations

import re
from urllib.parse import urlencode

from aiohttp import web

from application import cache_keys as keys
from application import request_context
from domain.errors import InvalidValue
from entrypoints.http import cached
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.handlers.orders import SYSTEM, owner_segment
from entrypoints.http.limits import client_ip
from entrypoints.http.params import read_form
from entrypoints.http.queries import CallbackQuery, PaymentsQuery
from entrypoints.settings import origin_of

P = "/api/v1/payment/payments"
routes = RouteTable("payments")
#: what one of our payment references may be (they are ``pp`` + hex; a gateway's own ids are longer)
REFERENCE = re.compile(r"[A-Za-z0-9._-]{1,100}")


def allowed_return_url(ctx: Ctx, url: str) -> bool:
    """Whether ``url`` is on an origin payments may send the customer back to (PAYPORT_RETURN_URL_ORIGINS,
    by default PAYPORT_PUBLIC_URL's): never an open redirect."""
    try:
        return origin_of(url) in ctx.services.edge.return_url_origins
    except ValueError:
        return False


@routes.endpoint("GET", P, summary="List your payments (admins: all)", response=s.page_of(s.PaymentOut),
                 query=PaymentsQuery,
                 cached=cached.page("payment_list", "payment_list", lambda user: keys.payments(owner_segment(user))))
async def list_payments(ctx: Ctx):
    q = ctx.query
    page = await ctx.services.payments.list(ctx.user, status=q.status, order_id=q.order_id, limit=q.limit,
                                            cursor=q.cursor)
    return None, present.page(page, present.payment)


@routes.endpoint("POST", f"{P}/initiate", summary="Start paying an order: returns the intent with authorization_url",
                 body=s.PaymentInitiateIn, response=s.PaymentOut, status=201, idempotency="required",
                 rate_limit=("payment_initiate", "payment_initiate_ip"))
async def initiate(ctx: Ctx):
    b = ctx.body
    if b.return_url is not None and not allowed_return_url(ctx, b.return_url):
        raise InvalidValue("return_url must be on an origin this service may redirect to (PAYPORT_RETURN_URL_ORIGINS)",
                           field="return_url")
    with request_context.serving(client_ip(ctx.request, ctx.services.trusted_proxies)):  # for the fraud rules
        payment = await ctx.services.initiate_payment(
            ctx.user, order_id=b.order_id, idempotency_key=ctx.idempotency_key, gateway=b.gateway, email=b.email,
            phone=b.phone, return_url=b.return_url, country=b.country.upper() if b.country else None,
            answer=ctx.staged and ctx.staged.recorder(201, present.payment))  # stored with the gateway's answer
    return json_response(present.payment(payment), 201)


async def _callback(ctx: Ctx) -> web.StreamResponse:
    params = ctx.query.model_dump(exclude_none=True)
    if ctx.request.method == "POST" and ctx.request.content_type == "application/x-www-form-urlencoded":
        params.update({k: v for k, v in (await read_form(ctx.request)).items() if isinstance(v, str)})
    reference = params.get("reference") or params.get("tx_ref") or params.get("trxref")
    if not reference or not REFERENCE.fullmatch(reference):
        raise InvalidValue("the callback needs the payment reference", field="reference")
    payment = await ctx.services.settlement.verify_and_apply(reference, callback=params)  # the gateway's id, to ask with
    if payment.return_url and allowed_return_url(ctx, payment.return_url):  # checked again: settings change
        query = urlencode({"payment_id": payment.id, "status": payment.status.value})
        sep = "&" if "?" in payment.return_url else "?"
        raise web.HTTPSeeOther(f"{payment.return_url}{sep}{query}")
    if ctx.principal is not None and ctx.principal.may_see(payment.owner_id):
        return json_response(present.payment(payment))
    return json_response(present.payment_outcome(payment))  # anyone holding the reference: no more


CALLBACK = ("Gateway redirect: verify with the gateway, then complete or fail. Anonymous callers get the "
            "outcome only; the payment's owner (with a bearer token) gets the payment")


@routes.endpoint("GET", f"{P}/callback", summary=CALLBACK, response=s.PaymentOutcomeOut, auth="optional",
                 query=CallbackQuery, rate_limit="payment_callback_ip")
async def callback_get(ctx: Ctx):
    return await _callback(ctx)


@routes.endpoint("POST", f"{P}/callback", summary="Gateway redirect (POST form)", response=s.PaymentOutcomeOut,
                 auth="optional", query=CallbackQuery, rate_limit="payment_callback_ip", idempotency="none")
async def callback_post(ctx: Ctx):
    return await _callback(ctx)


@routes.endpoint("GET", P + "/{payment_id}", summary="One payment", response=s.PaymentOut,
                 cached=cached.one("payment", "payment", lambda path: keys.payment(path["payment_id"])))
async def get_payment(ctx: Ctx):
    payment = await ctx.services.payments.get(SYSTEM, ctx.request.match_info["payment_id"])
    return payment.owner_id, present.payment(payment), None if payment.is_terminal else "live"


@routes.endpoint("GET", P + "/{payment_id}/check-status", summary="Ask the gateway now and update the payment",
                 response=s.PaymentOut)
async def check_status(ctx: Ctx):
    payment = await ctx.services.payments.check_status(ctx.user, ctx.request.match_info["payment_id"])
    return json_response(present.payment(payment))
