"""Shipping options (methods, prices, pickup stations per country) and a user's saved addresses."""
from __future__ import annotations

from domain.places import Address
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http import shop_schemas as shop
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.params import Page
from entrypoints.http.queries import ShippingOptionsQuery

P = "/api/v1"
routes = RouteTable("delivery")
NO_STORE = {"Cache-Control": "no-store"}


@routes.endpoint("GET", f"{P}/shipping/options", summary="Shipping methods, prices and pickup stations for a country",
                 response=shop.ShippingOptionsOut, auth="optional",
                 query=ShippingOptionsQuery)
async def shipping_options(ctx: Ctx):
    options = ctx.services.checkout.shipping_options(ctx.query.country, ctx.query.currency)
    options["stations"] = [present.station(st) for st in options["stations"]]
    return json_response(options, headers={"Cache-Control": "public, max-age=300"})


@routes.endpoint("GET", f"{P}/addresses", summary="Your saved addresses (newest first)",
                 response=s.page_of(shop.SavedAddressOut), query=Page)
async def list_addresses(ctx: Ctx):
    page = await ctx.services.addresses.list(ctx.user, ctx.query.limit, ctx.query.cursor)
    return json_response(present.page(page, present.saved_address), headers=NO_STORE)


@routes.endpoint("POST", f"{P}/addresses", summary="Save an address (use it at checkout as address_id)",
                 body=shop.SavedAddressIn, response=shop.SavedAddressOut, status=201)
async def add_address(ctx: Ctx):
    b = ctx.body
    address = Address(b.country.upper(), b.city, b.line1, b.postal_code)
    saved = await ctx.services.addresses.add(ctx.user, address, b.label)
    return json_response(present.saved_address(saved), 201, NO_STORE)


@routes.endpoint("DELETE", P + "/addresses/{address_id}", summary="Delete a saved address", response=shop.DeletedOut)
async def delete_address(ctx: Ctx):
    await ctx.services.addresses.delete(ctx.user, ctx.request.match_info["address_id"])
    return json_response({"deleted": True}, headers=NO_STORE)
