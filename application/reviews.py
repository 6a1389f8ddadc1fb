"""Use cases: reviews and ratings. Only a buyer (an order of theirs in a reviewable status contains
the product) writes one, once per product, and may edit it; admins hide and show them.

Every write takes the product's row lock first and then recounts the product's visible reviews as
that transaction sees them, so concurrent reviews of one product are counted one after another and
none is lost; the rating is written beside the product (``RatedProducts.set_rating``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from application import cache_keys, invalidation
from application.caching import CacheAside
from application.errors import AlreadyExists, Forbidden, NotFound
from application.ports import Clock, IdGenerator, Page
from application.ports.reviews import ReviewsUnitOfWork
from domain.catalog import Product
from domain.reviews import Review
from domain.users import Principal


@invalidation.kind("reviewed")
def _reviewed(product_ids: Iterable[str]) -> invalidation.Stale:
    """A product shows its rating, in its detail and the product lists; its review pages are a group."""
    product_ids = list(product_ids)
    return ([cache_keys.product(p) for p in product_ids],
            [group for p in product_ids for group in (cache_keys.PRODUCTS, cache_keys.product_reviews(p))])


class NotABuyer(Forbidden):
    code = "not_a_buyer"
    title = "Only buyers may review"


async def _product(uow: ReviewsUnitOfWork, product_id: str) -> Product:
    """The product, locked: the reviews of one product are written one at a time."""
    product = await uow.products.lock(product_id)
    if product is None or not product.active:
        raise NotFound("no such product", product_id=product_id)
    return product


async def _rerate(uow: ReviewsUnitOfWork, product_id: str) -> None:
    await uow.products.set_rating(product_id, await uow.reviews.rating(product_id))


class Reviews:
    def __init__(self, uow: Callable[[], ReviewsUnitOfWork], ids: IdGenerator, clock: Clock,
                 cache: CacheAside | None = None) -> None:
        self.uow, self.ids, self.clock, self.cache = uow, ids, clock, cache

    async def write(self, principal: Principal, product_id: str, *, rating: int, body: str) -> Review:
        async with self.uow() as uow:
            await _product(uow, product_id)
            if not await uow.purchases.bought(principal.id, product_id):
                raise NotABuyer("only a customer with a paid order containing this product may review it",
                                product_id=product_id)
            mine = await uow.reviews.by_author(product_id, principal.id)
            if mine is not None:
                raise AlreadyExists("you have reviewed this product already; edit that review",
                                    review_id=mine.id)
            review = Review.write(id=self.ids.new_id("rev"), product_id=product_id, author_id=principal.id,
                                  author_name=principal.name, rating=rating, body=body, now=self.clock.now())
            await uow.reviews.add(review)
            await _rerate(uow, product_id)
            await uow.commit()
        await invalidation.changed(self.cache, reviewed=[product_id])
        return review

    async def _change(self, review_id: str, allowed: Callable[[Review], bool],
                      change: Callable[[Review], None]) -> Review:
        async with self.uow() as uow:
            found = await uow.reviews.get(review_id)
            if found is None or not allowed(found):
                raise NotFound("no such review", review_id=review_id)
            await uow.products.lock(found.product_id)  # then read it again: another write may have come first
            review = await uow.reviews.lock(review_id)
            assert review is not None  # reviews are never deleted
            change(review)
            await uow.reviews.save(review)
            await _rerate(uow, review.product_id)
            await uow.commit()
        await invalidation.changed(self.cache, reviewed=[review.product_id])
        return review

    async def edit(self, principal: Principal, review_id: str, *, rating: int | None = None,
                   body: str | None = None) -> Review:
        """The author's edit (anyone else's review is not found)."""
        return await self._change(review_id, lambda r: r.author_id == principal.id,
                                  lambda r: r.edit(rating=rating, body=body, now=self.clock.now()))

    async def hide(self, principal: Principal, review_id: str, reason: str | None = None) -> Review:
        _require_admin(principal)
        return await self._change(review_id, lambda r: True, lambda r: r.hide(reason, self.clock.now()))

    async def show(self, principal: Principal, review_id: str) -> Review:
        _require_admin(principal)
        return await self._change(review_id, lambda r: True, lambda r: r.show(self.clock.now()))

    async def list(self, product_id: str, *, include_hidden: bool, limit: int, cursor: str | None) -> Page:
        """A product's reviews, newest first; hidden ones only for ``include_hidden`` (admins)."""
        async with self.uow() as uow:
            product = await uow.products.get(product_id)
            if product is None or not product.active:
                raise NotFound("no such product", product_id=product_id)
            return await uow.reviews.page(product_id, include_hidden=include_hidden, limit=limit, cursor=cursor)

    async def moderation_list(self, principal: Principal, product_id: str, *, limit: int,
                              cursor: str | None) -> Page:
        """Every review of a product, hidden ones too (admins)."""
        _require_admin(principal)
        return await self.list(product_id, include_hidden=True, limit=limit, cursor=cursor)

    async def seed(self, reviews: list[Review]) -> int:
        """Demo data: add the reviews missing (no purchase check) and rate their products."""
        added = 0
        async with self.uow() as uow:
            for review in reviews:
                if await uow.products.lock(review.product_id) is None:
                    continue
                if await uow.reviews.by_author(review.product_id, review.author_id) is None:
                    await uow.reviews.add(review)
                    added += 1
            for product_id in dict.fromkeys(r.product_id for r in reviews):
                await _rerate(uow, product_id)
            await uow.commit()
        return added


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only admins may moderate reviews")
