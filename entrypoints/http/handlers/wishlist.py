"""The wishlist of the caller (a user or a guest token): never cached, every answer ``no-store``."""
from __future__ import annotations

from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http import shop_schemas as shop
from entrypoints.http import storefront_presenters as show
from entrypoints.http import storefront_schemas as sf
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.params import Page

P = "/api/v1/wishlist"
routes = RouteTable("wishlist")
NO_STORE = {"Cache-Control": "no-store"}


@routes.endpoint("GET", P, summary="Your wishlist, newest first: each product's price today and whether it can be "
                 "bought", response=s.page_of(sf.WishlistItemOut), query=Page)
async def get_wishlist(ctx: Ctx):
    page = await ctx.services.wishlist.list(ctx.user, ctx.query.limit, ctx.query.cursor)
    return json_response(present.page(page, show.wished), headers=NO_STORE)


@routes.endpoint("POST", f"{P}/items", summary="Keep a product on sale (kept already: nothing changes)",
                 body=sf.WishlistItemIn, response=sf.WishlistItemOut, status=201)
async def add_item(ctx: Ctx):
    item = await ctx.services.wishlist.add(ctx.user, ctx.body.sku)
    return json_response(show.wished(item), 201, NO_STORE)


@routes.endpoint("DELETE", P + "/items/{sku}", summary="Take an item off your wishlist", response=shop.DeletedOut)
async def remove_item(ctx: Ctx):
    await ctx.services.wishlist.remove(ctx.user, ctx.request.match_info["sku"])
    return json_response({"deleted": True}, headers=NO_STORE)


@routes.endpoint("POST", P + "/items/{sku}/move-to-cart", summary="Put a kept item in your cart and take it off "
                 "the list, in one step (a cart that refuses it leaves it on the list)", body=sf.MoveToCartIn,
                 response=shop.CartOut)
async def move_to_cart(ctx: Ctx):
    cart = await ctx.services.wishlist.move_to_cart(ctx.user, ctx.request.match_info["sku"], ctx.body.quantity)
    return json_response(present.priced_cart(cart), headers=NO_STORE)
