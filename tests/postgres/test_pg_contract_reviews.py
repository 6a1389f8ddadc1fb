"""Contract of the reviews repositories (reviews, what a customer bought), on memory and Postgres,
and the rating staying exact under concurrent reviews (Postgres)."""
from __future__ import annotations

import asyncio

import pytest

import pg_builders as b
from test_pg_concurrency import _wait_until_blocked
from adapters.system import RandomIds
from application.errors import AlreadyExists
from application.reviews import Reviews
from domain.catalog import Rating
from domain.orders import OrderStatus
from domain.reviews import Review
from domain.users import Principal, Role


def review(id: str, *, author: str = "usr_1", product_id: str = "prd_TEE-1", rating: int = 4, at: float = 0,
           hidden: bool = False) -> Review:
    r = Review.write(id=id, product_id=product_id, author_id=author, author_name="Ada", rating=rating,
                     body="Fits well.", now=b.at(at))
    r.hidden = hidden
    return r


async def _with_product(backend) -> None:
    async with backend.uow() as uow:
        await uow.products.add(b.product("TEE-1"))
        await uow.products.add(b.product("CAP-1"))
        await uow.commit()


async def test_reviews_one_per_author_and_product(backend):
    await _with_product(backend)
    async with backend.uow() as uow:
        await uow.reviews.add(review("rev_1"))
        await uow.reviews.add(review("rev_2", product_id="prd_CAP-1"))
        with pytest.raises(AlreadyExists):
            await uow.reviews.add(review("rev_3"))
        await uow.commit()
    async with backend.uow() as uow:
        mine = await uow.reviews.by_author("prd_TEE-1", "usr_1")
        assert mine == review("rev_1") and await uow.reviews.get("rev_3") is None
        assert await uow.reviews.by_author("prd_TEE-1", "usr_2") is None
        mine.edit(rating=2, body="Shrank in the wash.", now=b.at(5))
        await uow.reviews.save(mine)
        await uow.commit()
    async with backend.uow() as uow:
        mine = await uow.reviews.lock("rev_1")
        assert (mine.rating, mine.body, mine.version, mine.updated_at) == (2, "Shrank in the wash.", 1, b.at(5))


async def test_the_rating_counts_visible_reviews_and_pages_go_newest_first(backend):
    await _with_product(backend)
    async with backend.uow() as uow:
        for n, stars in enumerate([5, 4, 1, 3]):
            await uow.reviews.add(review(f"rev_{n}", author=f"usr_{n}", rating=stars, at=n, hidden=stars == 1))
        await uow.reviews.add(review("rev_other", product_id="prd_CAP-1", rating=1))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.reviews.rating("prd_TEE-1") == Rating(3, 12)
        assert await uow.reviews.rating("prd_MUG-1") == Rating(0, 0)
        first = await uow.reviews.page("prd_TEE-1", include_hidden=False, limit=2, cursor=None)
        rest = await uow.reviews.page("prd_TEE-1", include_hidden=False, limit=2, cursor=first.next_cursor)
        every = await uow.reviews.page("prd_TEE-1", include_hidden=True, limit=10, cursor=None)
    assert [r.id for r in first.results] == ["rev_3", "rev_1"]
    assert [r.id for r in rest.results] == ["rev_0"] and rest.next_cursor is None
    assert [r.id for r in every.results] == ["rev_3", "rev_2", "rev_1", "rev_0"]


@pytest.mark.parametrize(("status", "bought"), [
    (OrderStatus.PENDING, False), (OrderStatus.PAID, True), (OrderStatus.PROCESSING, True),
    (OrderStatus.COMPLETED, True), (OrderStatus.PARTIALLY_REFUNDED, True), (OrderStatus.REFUNDED, False),
    (OrderStatus.CANCELLED, False), (OrderStatus.FAILED, False),
])
async def test_purchases_are_orders_paid_and_not_refunded_with_the_product(backend, status, bought):
    order = b.order()  # TEE-1 and CAP-1
    order.status = status
    async with backend.uow() as uow:
        await uow.orders.add(order)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.purchases.bought("usr_1", "prd_TEE-1") is bought
        assert await uow.purchases.bought("usr_1", "prd_MUG-1") is False
        assert await uow.purchases.bought("usr_2", "prd_TEE-1") is False


async def test_concurrent_reviews_of_one_product_are_all_counted(pg_backend, pg_pool):
    """Two buyers review one product at once: the second waits on the product's row lock, then
    recounts with the first one committed; neither is lost."""
    backend = pg_backend
    await _with_product(backend)
    async with backend.uow() as uow:
        for n in (1, 2):
            order = b.order(f"ord_{n}", owner=f"usr_{n}")
            order.status = OrderStatus.PAID
            await uow.orders.add(order)
        await uow.commit()
    reviews = Reviews(backend.uow, RandomIds(backend.clock), backend.clock)
    alice, bola = Principal("usr_1", Role.CUSTOMER, name="Alice"), Principal("usr_2", Role.CUSTOMER, name="Bola")

    async with backend.uow() as holder:  # holds the product's lock while both reviews start
        await holder.products.lock("prd_TEE-1")
        first = asyncio.create_task(reviews.write(alice, "prd_TEE-1", rating=5, body="Great"))
        second = asyncio.create_task(reviews.write(bola, "prd_TEE-1", rating=2, body="Meh"))
        await _wait_until_blocked(pg_pool, 2)
        await holder.commit()
    await asyncio.gather(first, second)
    async with backend.uow() as uow:
        product = await uow.products.get("prd_TEE-1")
        assert product.rating == Rating(2, 7) and product.rating.average == 3.5

