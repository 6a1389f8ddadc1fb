"""Reviews and ratings: a product's reviews (public, cached per product), written by its buyers,
hidden by admins. The product's rating is part of the product itself (``GET /products/{id}``)."""
from __future__ import annotations

from application import cache_keys as keys
from entrypoints.http import cached
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http import storefront_presenters as show
from entrypoints.http import storefront_schemas as sf
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.params import Page, canonical_query

P = "/api/v1"
routes = RouteTable("reviews")


def _pages_of_the_product(request, principal):
    """A page per query string within the product's group, which every review write invalidates."""
    group = keys.product_reviews(request.match_info["product_id"])
    return keys.in_group(group, canonical_query(request)), group


@routes.endpoint("GET", P + "/products/{product_id}/reviews", summary="A product's reviews, newest first",
                 response=s.page_of(sf.ReviewOut), auth="optional", query=Page,
                 cached=cached.Cached("reviews", "reviews", _pages_of_the_product))
async def list_reviews(ctx: Ctx):
    page = await ctx.services.reviews.list(ctx.request.match_info["product_id"], include_hidden=False,
                                           limit=ctx.query.limit, cursor=ctx.query.cursor)
    return None, present.page(page, show.review)


@routes.endpoint("POST", P + "/products/{product_id}/reviews", summary="Review a product you bought (a paid order "
                 "of yours contains it): 1 to 5 stars and a few words, once (edit it after)", body=sf.ReviewIn,
                 response=sf.ReviewOut, status=201, rate_limit="review_write")
async def write_review(ctx: Ctx):
    review = await ctx.services.reviews.write(ctx.user, ctx.request.match_info["product_id"],
                                              rating=ctx.body.rating, body=ctx.body.body)
    return json_response(show.review(review), 201)


@routes.endpoint("PATCH", P + "/reviews/{review_id}", summary="Edit your review", body=sf.ReviewEditIn,
                 response=sf.ReviewOut, rate_limit="review_write")
async def edit_review(ctx: Ctx):
    review = await ctx.services.reviews.edit(ctx.user, ctx.request.match_info["review_id"],
                                             rating=ctx.body.rating, body=ctx.body.body)
    return json_response(show.review(review))


@routes.endpoint("GET", P + "/admin/products/{product_id}/reviews", summary="A product's reviews, hidden ones "
                 "too (admins)", response=s.page_of(sf.ReviewAdminOut), query=Page)
async def list_reviews_admin(ctx: Ctx):
    page = await ctx.services.reviews.moderation_list(ctx.user, ctx.request.match_info["product_id"],
                                                      limit=ctx.query.limit, cursor=ctx.query.cursor)
    return json_response(present.page(page, show.review_admin), headers={"Cache-Control": "no-store"})


@routes.endpoint("POST", P + "/admin/reviews/{review_id}/hide", summary="Hide a review (admins): it leaves the "
                 "product's rating", body=sf.HideIn, response=sf.ReviewAdminOut)
async def hide_review(ctx: Ctx):
    review = await ctx.services.reviews.hide(ctx.user, ctx.request.match_info["review_id"], ctx.body.reason)
    return json_response(show.review_admin(review))


@routes.endpoint("POST", P + "/admin/reviews/{review_id}/show", summary="Show a hidden review again (admins)",
                 response=sf.ReviewAdminOut)
async def show_review(ctx: Ctx):
    review = await ctx.services.reviews.show(ctx.user, ctx.request.match_info["review_id"])
    return json_response(show.review_admin(review))
