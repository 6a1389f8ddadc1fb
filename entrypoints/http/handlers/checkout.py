from __future__ import annotations

from aiohttp import web

from domain.errors import InvalidValue
from domain.places import Address
from domain.pricing import ShippingMethod
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.endpoint import Ctx, RouteTable, json_response

P = "/api/v1/checkout"
routes = RouteTable("checkout")
NO_STORE = {"Cache-Control": "no-store"}


def _session(session, status: int = 200) -> web.Response:
    return json_response(present.checkout(session), status, NO_STORE)


@routes.endpoint("POST", f"{P}/initiate", summary="Start a checkout from items, or from your cart ({from_cart: true})",
                 body=s.CheckoutInitiateIn, response=s.CheckoutOut, status=201, rate_limit=("checkout_initiate", "checkout_initiate_ip"))
async def initiate(ctx: Ctx):
    if ctx.body.from_cart and ctx.body.items:
        raise InvalidValue("send items or from_cart, not both", field="from_cart")
    if not ctx.body.from_cart and not ctx.body.items:
        raise InvalidValue("send the items to check out, or from_cart: true", field="items")
    items = [(i.sku, i.quantity) for i in ctx.body.items or ()]
    session = await ctx.services.checkout.initiate(ctx.user, items, from_cart=bool(ctx.body.from_cart))
    return _session(session, 201)


@routes.endpoint("GET", P + "/{checkout_id}", summary="A checkout session", response=s.CheckoutOut)
async def get(ctx: Ctx):
    return _session(await ctx.services.checkout.get(ctx.user, ctx.request.match_info["checkout_id"]))


@routes.endpoint("POST", f"{P}/calculate-shipping", summary="Price shipping to an address",
                 body=s.ShippingIn, response=s.CheckoutOut, rate_limit=("checkout_pricing", "checkout_pricing_ip"))
async def shipping(ctx: Ctx):
    b = ctx.body
    address = None
    if b.address is not None:
        address = Address(b.address.country.upper(), b.address.city, b.address.line1, b.address.postal_code)
    session = await ctx.services.checkout.calculate_shipping(ctx.user, b.checkout_id, address, ShippingMethod(b.method),
                                                             station_id=b.station_id, address_id=b.address_id)
    return _session(session)


@routes.endpoint("POST", f"{P}/calculate-tax", summary="Compute tax for the checkout",
                 body=s.CheckoutIdIn, response=s.CheckoutOut, rate_limit=("checkout_pricing", "checkout_pricing_ip"))
async def tax(ctx: Ctx):
    return _session(await ctx.services.checkout.calculate_tax(ctx.user, ctx.body.checkout_id))


@routes.endpoint("POST", f"{P}/apply-coupon", summary="Apply a coupon code", body=s.CouponIn,
                 response=s.CheckoutOut, rate_limit=("checkout_coupon", "checkout_coupon_ip"))
async def coupon(ctx: Ctx):
    return _session(await ctx.services.checkout.apply_coupon(ctx.user, ctx.body.checkout_id, ctx.body.code))


@routes.endpoint("POST", f"{P}/remove-coupon", summary="Remove the checkout's coupon",
                 body=s.CheckoutIdIn, response=s.CheckoutOut, rate_limit=("checkout_coupon", "checkout_coupon_ip"))
async def remove_coupon(ctx: Ctx):
    return _session(await ctx.services.checkout.remove_coupon(ctx.user, ctx.body.checkout_id))


@routes.endpoint("POST", f"{P}/confirm-order", summary="Confirm the checkout into an order (idempotent per checkout)",
                 body=s.CheckoutIdIn, response=s.OrderOut, status=201, rate_limit=("checkout_confirm", "checkout_confirm_ip"))
async def confirm(ctx: Ctx):
    order, created = await ctx.services.checkout.confirm(ctx.user, ctx.body.checkout_id)
    return json_response(present.order(order), 201 if created else 200, NO_STORE)
