from __future__ import annotations

from application import cache_keys as keys
from entrypoints.http import cached
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http import storefront_presenters as show
from entrypoints.http import storefront_schemas as sf
from entrypoints.http.endpoint import Ctx, RouteTable
from entrypoints.http.queries import ProductsQuery

P = "/api/v1"
routes = RouteTable("catalog")


@routes.endpoint("GET", f"{P}/products", summary="List products (search by name or SKU, filter by category or tag)",
                 response=s.page_of(s.ProductOut), auth="optional", query=ProductsQuery,
                 cached=cached.page("product", "products", lambda user: keys.PRODUCTS))
async def list_products(ctx: Ctx):
    q = ctx.query
    page = await ctx.services.catalog.products(category=q.category, search=q.search, include_inactive=False,
                                               limit=q.limit, cursor=q.cursor, tag=q.tag)
    return None, present.page(page, present.product)


@routes.endpoint("GET", P + "/products/{product_id}", summary="One product", response=s.ProductOut,
                 auth="optional",
                 cached=cached.one("product", "product", lambda path: keys.product(path["product_id"])))
async def get_product(ctx: Ctx):
    return None, present.product(await ctx.services.catalog.product(ctx.request.match_info["product_id"]))


@routes.endpoint("GET", f"{P}/categories", summary="Product categories", response=s.CategoriesOut,
                 auth="optional", cached=cached.one("categories", "categories", lambda path: keys.CATEGORIES))
async def categories(ctx: Ctx):
    return None, [present.category(c) for c in await ctx.services.catalog.categories()]


@routes.endpoint("GET", f"{P}/tags", summary="Product tags (filter the products with ?tag=)", response=sf.TagsOut,
                 auth="optional", cached=cached.one("tags", "tags", lambda path: keys.TAGS))
async def tags(ctx: Ctx):
    return None, [show.tag(t) for t in await ctx.services.catalog.tags()]
