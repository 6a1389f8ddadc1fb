"""Admin writes to the catalog: products, categories, tags, coupons (403 for anyone but an admin).

Product, category and tag caches are invalidated by the use cases after each commit.
"""
from __future__ import annotations

from application.catalog import require_admin
from domain.catalog import Coupon, CouponKind
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http import shop_schemas as shop
from entrypoints.http import storefront_presenters as show
from entrypoints.http import storefront_schemas as sf
from entrypoints.http.endpoint import Ctx, RouteTable, json_response

P = "/api/v1"
routes = RouteTable("catalog_admin", tag="catalog")


@routes.endpoint("POST", f"{P}/products", summary="Create a product (admins)",
                 body=shop.ProductCreateIn, response=s.ProductAdminOut, status=201)
async def create_product(ctx: Ctx):
    product = await ctx.services.catalog.create_product(ctx.user, **ctx.body.model_dump())
    return json_response(present.product(product) | {"version": product.version}, 201)


@routes.endpoint("PATCH", P + "/products/{product_id}", summary="Change a product: name, price, stock, category, "
                 "active, tags (admins; send the version you saw to refuse a lost update)",
                 body=shop.ProductUpdateIn, response=s.ProductAdminOut)
async def update_product(ctx: Ctx):
    changes = ctx.body.model_dump(exclude_none=True)
    product = await ctx.services.catalog.update_product(ctx.user, ctx.request.match_info["product_id"], **changes)
    return json_response(present.product(product) | {"version": product.version})


@routes.endpoint("POST", f"{P}/categories", summary="Create a category (admins)", body=shop.CategoryIn,
                 response=s.CategoryOut, status=201)
async def create_category(ctx: Ctx):
    category = await ctx.services.catalog.create_category(ctx.user, ctx.body.slug, ctx.body.name)
    return json_response(present.category(category), 201)


@routes.endpoint("PUT", P + "/tags/{slug}", summary="Create or rename a tag (admins)", body=sf.TagIn,
                 response=sf.TagOut)
async def put_tag(ctx: Ctx):
    return json_response(show.tag(await ctx.services.catalog.put_tag(ctx.user, ctx.request.match_info["slug"],
                                                                     ctx.body.name)))


@routes.endpoint("DELETE", P + "/tags/{slug}", summary="Delete a tag: it comes off every product (admins)",
                 response=shop.DeletedOut)
async def delete_tag(ctx: Ctx):
    await ctx.services.catalog.delete_tag(ctx.user, ctx.request.match_info["slug"])
    return json_response({"deleted": True})


@routes.endpoint("POST", f"{P}/coupons", summary="Create a coupon (admins): percent (value in basis points) or fixed "
                 "(value in the coupon currency's minor units)", body=shop.CouponCreateIn,
                 response=shop.CouponOut, status=201)
async def create_coupon(ctx: Ctx):
    b = ctx.body
    require_admin(ctx.user)  # before building the coupon: a customer learns nothing about the rules
    coupon = Coupon(code=b.code.upper(), kind=CouponKind(b.kind), value=b.value, currency=b.currency,
                    min_subtotal=b.min_subtotal, valid_from=b.valid_from, valid_until=b.valid_until,
                    max_uses=b.max_uses, max_uses_per_user=b.max_uses_per_user, active=b.active)
    return json_response(present.coupon(await ctx.services.catalog.create_coupon(ctx.user, coupon)), 201)
