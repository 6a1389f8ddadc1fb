"""Tags in the catalog use cases (memory adapters): admin writes, products carrying known tags only,
the tag filter, and the caches invalidated after each write."""
from __future__ import annotations

import pytest

from adapters.memory.infrastructure import MemoryCache
from adapters.memory.read_model import MemoryReadModel
from application import cache_keys as keys
from application.caching import CacheAside
from application.catalog import Catalog
from application.errors import Forbidden, NotFound
from domain.catalog import Category, Tag, check_tags
from domain.errors import InvalidValue
from tests.unit.storefront_support import ADA, ADMIN, World


def test_tag_slugs_and_lists_are_checked():
    assert check_tags(["gift", "summer", "gift"]) == ("gift", "summer")
    for bad in (["Gift"], ["-gift"], ["gift-"], ["a" * 41], [""], [f"t{n}" for n in range(21)]):
        with pytest.raises(InvalidValue):
            check_tags(bad)
    with pytest.raises(InvalidValue):
        Tag.create("gift", " ")


@pytest.fixture
async def world():
    w = World.make()
    w.cache = MemoryCache(w.clock)
    w.catalog = Catalog(w.uow, MemoryReadModel(w.store), w.ids, CacheAside(w.cache))
    await w.catalog.seed([Category("fashion", "Fashion")], [], [], [Tag("summer", "Summer")])
    return w


async def _stamp(world, *cache_keys: str) -> None:
    for key in cache_keys:
        await world.cache.set(key, b"cached", 600)


async def test_admins_write_tags_and_the_tag_cache_is_invalidated(world):
    with pytest.raises(Forbidden):
        await world.catalog.put_tag(ADA, "gift", "Gifts")
    await _stamp(world, keys.TAGS)
    await world.catalog.put_tag(ADMIN, "gift", "Gifts")
    assert await world.cache.get(keys.TAGS) is None
    await world.catalog.put_tag(ADMIN, "gift", "Gift ideas")
    assert await world.catalog.tags() == [Tag("gift", "Gift ideas"), Tag("summer", "Summer")]
    with pytest.raises(NotFound):
        await world.catalog.delete_tag(ADMIN, "nope")


async def test_products_carry_known_tags_and_the_list_filters_by_them(world):
    with pytest.raises(InvalidValue) as caught:
        await world.catalog.create_product(ADMIN, sku="TEE", name="Tee", price=1500, currency="NGN", stock=5,
                                           category="fashion", tags=["summer", "unknown"])
    assert caught.value.details["tags"] == ["unknown"]
    tee = await world.catalog.create_product(ADMIN, sku="TEE", name="Tee", price=1500, currency="NGN", stock=5,
                                             category="fashion", tags=["summer"])
    await world.catalog.create_product(ADMIN, sku="CAP", name="Cap", price=700, currency="NGN", stock=5,
                                       category="fashion")
    await _stamp(world, keys.product(tee.id))
    await world.catalog.put_tag(ADMIN, "gift", "Gifts")
    updated = await world.catalog.update_product(ADMIN, tee.id, tags=["gift", "summer"])
    assert updated.tags == ("gift", "summer") and await world.cache.get(keys.product(tee.id)) is None
    page = await world.catalog.products(category=None, search=None, include_inactive=False, limit=10, cursor=None,
                                        tag="gift")
    assert [p.sku for p in page.results] == ["TEE"]


async def test_deleting_a_tag_takes_it_off_its_products_and_invalidates_them(world):
    tee = await world.catalog.create_product(ADMIN, sku="TEE", name="Tee", price=1500, currency="NGN", stock=5,
                                             category="fashion", tags=["summer"])
    await _stamp(world, keys.product(tee.id), keys.TAGS)
    await world.catalog.delete_tag(ADMIN, "summer")
    assert (await world.catalog.product(tee.id)).tags == ()
    assert await world.cache.get(keys.product(tee.id)) is None and await world.cache.get(keys.TAGS) is None
    assert await world.catalog.tags() == []
