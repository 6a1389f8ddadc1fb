"""Reviews (domain) and their use cases on the memory adapters: who may review, once, editable,
hidden reviews leave the rating."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from application.errors import AlreadyExists, Forbidden, NotFound
from application.reviews import NotABuyer, Reviews
from domain.catalog import Rating
from domain.errors import InvalidValue
from domain.orders import OrderStatus
from domain.reviews import Review, rating_of
from tests.unit.storefront_support import ADA, ADMIN, BOLA, World, product

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("rating", "body"), [(0, "ok"), (6, "ok"), (4.5, "ok"), (True, "ok"), (3, "  "),
                                              (3, "x" * 5001)])
def test_a_review_needs_one_to_five_stars_and_words(rating, body):
    with pytest.raises(InvalidValue):
        Review.write(id="r", product_id="p", author_id="u", author_name="Ada", rating=rating, body=body, now=NOW)


def test_hidden_reviews_leave_the_rating():
    reviews = [Review.write(id=f"r{n}", product_id="p", author_id=f"u{n}", author_name=None, rating=stars,
                            body="ok", now=NOW) for n, stars in enumerate([5, 4, 1])]
    assert reviews[0].author_name == "A customer"
    reviews[2].hide("spam", NOW)
    assert rating_of(reviews) == Rating(2, 9) and rating_of(reviews).average == 4.5
    reviews[2].show(NOW)
    assert rating_of(reviews).count == 3 and reviews[2].hidden_reason is None


@pytest.fixture
async def world():
    w = World.make()
    await w.products(product("TEE"), product("CAP"), product("OLD", active=False))
    return w


async def _rating(world, product_id: str = "prd_TEE") -> Rating:
    async with world.uow() as uow:
        return (await uow.products.get(product_id)).rating


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.REFUNDED, OrderStatus.CANCELLED])
async def test_only_a_buyer_of_a_paid_order_may_review(world, status):
    reviews = Reviews(world.uow, world.ids, world.clock)
    await world.order(ADA, "TEE", status=status)
    await world.order(ADA, "CAP")  # paid, but another product
    with pytest.raises(NotABuyer) as caught:
        await reviews.write(ADA, "prd_TEE", rating=5, body="Lovely")
    assert isinstance(caught.value, Forbidden)
    assert await _rating(world) == Rating()


async def test_one_review_per_buyer_and_product_and_the_author_edits_it(world):
    reviews = Reviews(world.uow, world.ids, world.clock)
    await world.order(ADA, "TEE")
    await world.order(BOLA, "TEE", status=OrderStatus.PARTIALLY_REFUNDED)
    mine = await reviews.write(ADA, "prd_TEE", rating=5, body="Lovely")
    await reviews.write(BOLA, "prd_TEE", rating=2, body="Too small")
    assert await _rating(world) == Rating(2, 7)
    with pytest.raises(AlreadyExists) as caught:
        await reviews.write(ADA, "prd_TEE", rating=1, body="Changed my mind")
    assert caught.value.details == {"review_id": mine.id}
    with pytest.raises(NotFound):  # someone else's review is not found
        await reviews.edit(BOLA, mine.id, rating=1)
    world.clock.advance(60)
    edited = await reviews.edit(ADA, mine.id, rating=3)
    assert (edited.rating, edited.body, edited.version, edited.updated_at > edited.created_at) == (3, "Lovely", 1, True)
    assert await _rating(world) == Rating(2, 5)
    with pytest.raises(InvalidValue):
        await reviews.edit(ADA, mine.id, body="")
    assert await _rating(world) == Rating(2, 5)


async def test_admins_hide_and_show_a_review_and_the_rating_follows(world):
    reviews = Reviews(world.uow, world.ids, world.clock)
    await world.order(ADA, "TEE")
    await world.order(BOLA, "TEE")
    spam = await reviews.write(ADA, "prd_TEE", rating=1, body="Buy cheap watches at ...")
    await reviews.write(BOLA, "prd_TEE", rating=4, body="Good")
    with pytest.raises(Forbidden):
        await reviews.hide(BOLA, spam.id)
    hidden = await reviews.hide(ADMIN, spam.id, "spam")
    assert (hidden.hidden, hidden.hidden_reason) == (True, "spam")
    assert await _rating(world) == Rating(1, 4)
    shown = await reviews.list("prd_TEE", include_hidden=False, limit=10, cursor=None)
    every = await reviews.list("prd_TEE", include_hidden=True, limit=10, cursor=None)
    assert [r.author_id for r in shown.results] == [BOLA.id]
    assert {r.author_id for r in every.results} == {ADA.id, BOLA.id}
    await reviews.show(ADMIN, spam.id)
    assert await _rating(world) == Rating(2, 5)
    with pytest.raises(NotFound):
        await reviews.hide(ADMIN, "rev_nope")


async def test_reviews_of_a_missing_or_withdrawn_product_are_not_found(world):
    reviews = Reviews(world.uow, world.ids, world.clock)
    await world.order(ADA, "OLD")
    for product_id in ("prd_NOPE", "prd_OLD"):
        with pytest.raises(NotFound):
            await reviews.write(ADA, product_id, rating=4, body="ok")
        with pytest.raises(NotFound):
            await reviews.list(product_id, include_hidden=False, limit=10, cursor=None)


async def test_seeded_reviews_rate_their_products_once(world):
    reviews = Reviews(world.uow, world.ids, world.clock)
    demo = [Review.write(id=f"rev_demo_{n}", product_id="prd_TEE", author_id=f"usr_demo_{n}", author_name="Demo",
                         rating=stars, body="Demo", now=NOW) for n, stars in enumerate([5, 3])]
    assert await reviews.seed(demo) == 2
    assert await reviews.seed(demo) == 0
    assert await _rating(world) == Rating(2, 8)
