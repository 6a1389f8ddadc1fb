"""Contract of the storefront's additions to the catalog repositories (issue 18): tags, the tags and
rating a product carries, tag filters of the product list; on memory and Postgres."""
from __future__ import annotations

import attrs
import pytest

import pg_builders as b
from domain.catalog import Rating, Tag


async def _products(backend, *products) -> None:
    async with backend.uow() as uow:
        for product in products:
            await uow.products.add(product)
        await uow.commit()


async def test_tags_are_saved_renamed_listed_and_deleted(backend):
    async with backend.uow() as uow:
        await uow.tags.save(Tag("summer", "Summer"))
        await uow.tags.save(Tag("gift", "Gifts"))
        await uow.commit()
    async with backend.uow() as uow:
        await uow.tags.save(Tag("gift", "Gift ideas"))
        assert await uow.tags.get("nope") is None
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.tags.all() == [Tag("gift", "Gift ideas"), Tag("summer", "Summer")]
        await uow.tags.delete("summer")
        await uow.commit()
    async with backend.uow() as uow:
        assert [t.slug for t in await uow.tags.all()] == ["gift"]
        assert await uow.tags.get("summer") is None


async def test_a_product_keeps_its_tags_and_untag_takes_one_off_everywhere(backend):
    await _products(backend, attrs.evolve(b.product("TEE-1"), tags=("summer", "gift")),
                    attrs.evolve(b.product("CAP-1"), tags=("gift",)), b.product("MUG-1"))
    async with backend.uow() as uow:
        tee = await uow.products.get("prd_TEE-1")
        assert tee.tags == ("summer", "gift") and tee.rating == Rating()
        assert sorted(await uow.products.untag("gift")) == ["prd_CAP-1", "prd_TEE-1"]
        await uow.commit()
    async with backend.uow() as uow:
        tee, cap = await uow.products.get("prd_TEE-1"), await uow.products.get("prd_CAP-1")
        assert (tee.tags, tee.version) == (("summer",), 1)
        assert (cap.tags, cap.version) == ((), 1)
        assert await uow.products.untag("gift") == []


async def test_the_product_list_filters_by_tag(backend):
    await _products(backend, attrs.evolve(b.product("A-1"), tags=("gift",)), b.product("B-1"),
                    attrs.evolve(b.product("C-1"), tags=("gift", "sale")),
                    attrs.evolve(b.product("D-1", active=False), tags=("gift",)))
    page = await backend.read_model.list_products(category=None, search=None, include_inactive=False, limit=1,
                                                  cursor=None, tag="gift")
    assert [p.sku for p in page.results] == ["A-1"]
    page = await backend.read_model.list_products(category=None, search=None, include_inactive=False, limit=5,
                                                  cursor=page.next_cursor, tag="gift")
    assert [p.sku for p in page.results] == ["C-1"] and page.next_cursor is None
    assert page.results[0].tags == ("gift", "sale")
    everything = await backend.read_model.list_products(category=None, search=None, include_inactive=True,
                                                        limit=10, cursor=None)
    assert len(everything.results) == 4


async def test_the_rating_is_written_beside_the_product(backend):
    await _products(backend, b.product("TEE-1"))
    async with backend.uow() as uow:
        locked = await uow.products.lock("prd_TEE-1")
        await uow.products.set_rating("prd_TEE-1", Rating(2, 9))
        assert locked.rating == Rating(2, 9), "the object this unit of work holds sees it too"
        await uow.commit()
    async with backend.uow() as uow:
        tee = await uow.products.get("prd_TEE-1")
        assert (tee.rating, tee.rating.average, tee.version) == (Rating(2, 9), 4.5, 0)


async def test_an_edit_loaded_before_a_review_does_not_undo_its_rating(pg_backend):
    """Postgres only (the memory unit of work is serialised as a whole): an admin's edit loaded
    before a review committed saves the product without writing the rating back."""
    await _products(pg_backend, b.product("TEE-1"))
    async with pg_backend.uow() as admin:
        edited = await admin.products.get("prd_TEE-1")
        async with pg_backend.uow() as review:
            await review.products.lock("prd_TEE-1")
            await review.products.set_rating("prd_TEE-1", Rating(2, 9))
            await review.commit()
        edited.revise(name="Renamed")
        await admin.products.save(edited)
        await admin.commit()
    async with pg_backend.uow() as uow:
        tee = await uow.products.get("prd_TEE-1")
        assert (tee.name, tee.rating) == ("Renamed", Rating(2, 9))


def test_rating_average_is_exact_and_empty_without_reviews():
    assert Rating().average is None
    assert Rating(3, 13).average == 4.33
    with pytest.raises(AttributeError):
        Rating().count = 1  # type: ignore[misc]
