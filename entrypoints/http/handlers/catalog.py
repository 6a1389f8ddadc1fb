from __future__ import annotations

from application import cache_keys as keys
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.cached import CachedRead
from entrypoints.http.endpoint import Ctx, endpoint
from entrypoints.http.params import canonical_query, limit_and_cursor, text

P = "/api/v1"


@endpoint("GET", f"{P}/products", summary="List products (search by name or SKU, filter by category)",
          tag="catalog", response=s.page_of(s.ProductOut), auth="optional",
          query=(("limit", "1..100, default 10"), ("cursor", "from next_cursor"), ("category", "slug"),
                 ("search", "name or SKU")), cached=True)
def list_products(ctx: Ctx) -> CachedRead:
    limit, cursor = limit_and_cursor(ctx.request)
    category, search = text(ctx.request, "category"), text(ctx.request, "search")

    async def load():
        page = await ctx.services.catalog.products(category=category, search=search, include_inactive=False,
                                                   limit=limit, cursor=cursor)
        return None, present.page(page, present.product)
    key = keys.in_group(keys.PRODUCTS, canonical_query(ctx.request))
    return CachedRead(key, "product", "products", load, keys.PRODUCTS)


@endpoint("GET", P + "/products/{product_id}", summary="One product", tag="catalog", response=s.ProductOut,
          auth="optional", cached=True)
def get_product(ctx: Ctx) -> CachedRead:
    product_id = ctx.request.match_info["product_id"]

    async def load():
        return None, present.product(await ctx.services.catalog.product(product_id))
    return CachedRead(keys.product(product_id), "product", "product", load)


@endpoint("GET", f"{P}/categories", summary="Product categories", tag="catalog", response=s.CategoryOut,
          auth="optional", cached=True)
def categories(ctx: Ctx) -> CachedRead:
    async def load():
        return None, [present.category(c) for c in await ctx.services.catalog.categories()]
    return CachedRead(keys.CATEGORIES, "categories", "categories", load)
