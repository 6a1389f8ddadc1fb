from __future__ import annotations

from application import cache_keys as keys
from entrypoints.http import cached
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.endpoint import Ctx, RouteTable
from entrypoints.http.params import limit_and_cursor, text

P = "/api/v1"
routes = RouteTable("catalog")


@routes.endpoint("GET", f"{P}/products", summary="List products (search by name or SKU, filter by category)",
                 response=s.page_of(s.ProductOut), auth="optional",
                 query=(("limit", "1..100, default 10"), ("cursor", "from next_cursor"), ("category", "slug"),
                        ("search", "name or SKU")),
                 cached=cached.page("product", "products", lambda user: keys.PRODUCTS))
async def list_products(ctx: Ctx):
    limit, cursor = limit_and_cursor(ctx.request)
    category, search = text(ctx.request, "category"), text(ctx.request, "search")
    page = await ctx.services.catalog.products(category=category, search=search, include_inactive=False,
                                               limit=limit, cursor=cursor)
    return None, present.page(page, present.product)


@routes.endpoint("GET", P + "/products/{product_id}", summary="One product", response=s.ProductOut,
                 auth="optional",
                 cached=cached.one("product", "product", lambda path: keys.product(path["product_id"])))
async def get_product(ctx: Ctx):
    return None, present.product(await ctx.services.catalog.product(ctx.request.match_info["product_id"]))


@routes.endpoint("GET", f"{P}/categories", summary="Product categories", response=s.CategoryOut,
                 auth="optional", cached=cached.one("categories", "categories", lambda path: keys.CATEGORIES))
async def categories(ctx: Ctx):
    return None, [present.category(c) for c in await ctx.services.catalog.categories()]
