"""The cart of the caller (a user or a guest token). Never cached: every answer is ``no-store``."""
from __future__ import annotations

from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http import shop_schemas as shop
from entrypoints.http.endpoint import Ctx, RouteTable, json_response

P = "/api/v1/cart"
routes = RouteTable("cart")
NO_STORE = {"Cache-Control": "no-store"}


def _cart(cart):
    return json_response(present.priced_cart(cart), 200, NO_STORE)


def _sku(ctx: Ctx) -> str:
    return ctx.request.match_info["sku"]


@routes.endpoint("GET", P, summary="Your cart at today's prices", response=shop.CartOut)
async def get_cart(ctx: Ctx):
    return _cart(await ctx.services.cart.get(ctx.user))


@routes.endpoint("POST", f"{P}/items", summary="Add an item (quantities add up)", body=s.ItemIn,
                 response=shop.CartOut)
async def add_item(ctx: Ctx):
    return _cart(await ctx.services.cart.add(ctx.user, ctx.body.sku, ctx.body.quantity))


@routes.endpoint("PATCH", P + "/items/{sku}", summary="Set the quantity of an item in the cart",
                 body=shop.CartQuantityIn, response=shop.CartOut)
async def set_quantity(ctx: Ctx):
    return _cart(await ctx.services.cart.set_quantity(ctx.user, _sku(ctx), ctx.body.quantity))


@routes.endpoint("DELETE", P + "/items/{sku}", summary="Remove an item from the cart", response=shop.CartOut)
async def remove_item(ctx: Ctx):
    return _cart(await ctx.services.cart.remove(ctx.user, _sku(ctx)))
