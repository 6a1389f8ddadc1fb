"""The wishlist (domain) and its use cases on the memory adapters."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from application.errors import NotFound
from application.wishlist import Wishlists
from domain.errors import CurrencyMismatch, InsufficientStock, InvalidValue
from domain.money import Money
from domain.wishlist import MAX_WISHLIST_ITEMS, Wishlist
from tests.unit.storefront_support import ADA, GUEST, World, product

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_keeping_twice_keeps_once_and_removing_what_is_not_kept_is_refused():
    wishlist = Wishlist.empty("usr_1", NOW)
    assert wishlist.add("TEE", NOW) is True
    assert wishlist.add("TEE", NOW) is False
    assert [i.sku for i in wishlist.items] == ["TEE"] and wishlist.version == 1
    with pytest.raises(InvalidValue):
        wishlist.remove("CAP", NOW)


def test_a_full_wishlist_refuses_more_and_a_merge_leaves_out_what_does_not_fit():
    full = Wishlist.empty("usr_1", NOW)
    for n in range(MAX_WISHLIST_ITEMS):
        full.add(f"SKU-{n}", NOW)
    with pytest.raises(InvalidValue):
        full.add("ONE-MORE", NOW)
    guest = Wishlist.empty("gst_1", NOW)
    guest.add("SKU-0", NOW)
    guest.add("EXTRA", NOW)
    before = full.version
    assert full.merge(guest, NOW) == ["EXTRA"]
    assert full.version == before  # nothing fitted: nothing changed


@pytest.fixture
async def world():
    w = World.make()
    await w.products(product("TEE"), product("CAP", price=700, stock=0), product("OLD", active=False),
                     product("HAT", price=20, currency="USD"))
    return w


async def test_the_list_shows_todays_price_and_availability_newest_first(world):
    wishlists = Wishlists(world.uow, world.clock)
    await wishlists.add(ADA, "TEE")
    world.clock.advance(1)
    await wishlists.add(ADA, "CAP")
    async with world.uow() as uow:  # the price changes and TEE is withdrawn after it was kept
        tee = await uow.products.get("prd_TEE")
        tee.revise(price=Money(1800, "NGN"), active=False)
        await uow.products.save(tee)
        await uow.commit()
    page = await wishlists.list(ADA, limit=1, cursor=None)
    assert [(i.sku, i.price, i.available) for i in page.results] == [("CAP", 700, False)]  # out of stock
    rest = await wishlists.list(ADA, limit=5, cursor=page.next_cursor)
    assert [(i.sku, i.price, i.currency, i.available) for i in rest.results] == [("TEE", 1800, "NGN", False)]
    assert rest.next_cursor is None
    assert (await wishlists.list(GUEST, limit=5, cursor=None)).results == []


async def test_unknown_or_withdrawn_skus_are_refused_and_removing_a_missing_one_is_not_found(world):
    wishlists = Wishlists(world.uow, world.clock)
    for sku in ("NOPE", "OLD"):
        with pytest.raises(InvalidValue):
            await wishlists.add(ADA, sku)
    with pytest.raises(NotFound):
        await wishlists.remove(ADA, "TEE")
    await wishlists.add(ADA, "TEE")
    again = await wishlists.add(ADA, "TEE")
    assert again.sku == "TEE"
    await wishlists.remove(ADA, "TEE")
    assert (await wishlists.list(ADA, limit=5, cursor=None)).results == []


async def test_moving_to_the_cart_is_one_change_or_none(world):
    wishlists = Wishlists(world.uow, world.clock)
    for sku in ("TEE", "CAP", "HAT"):
        await wishlists.add(ADA, sku)
    cart = await wishlists.move_to_cart(ADA, "TEE", 2)
    assert [(line.sku, line.quantity) for line in cart.lines] == [("TEE", 2)]
    with pytest.raises(InsufficientStock):  # CAP is out of stock: it stays on the list
        await wishlists.move_to_cart(ADA, "CAP")
    with pytest.raises(CurrencyMismatch):  # the cart is in NGN
        await wishlists.move_to_cart(ADA, "HAT")
    with pytest.raises(NotFound):
        await wishlists.move_to_cart(ADA, "TEE")  # not on the list any more
    assert sorted(i.sku for i in (await wishlists.list(ADA, limit=10, cursor=None)).results) == ["CAP", "HAT"]
    async with world.uow() as uow:
        assert (await uow.carts.get(ADA.id)).quantity_of("TEE") == 2


async def test_a_guests_wishlist_merges_into_the_users_at_login(world):
    wishlists = Wishlists(world.uow, world.clock)
    await wishlists.add(GUEST, "TEE")
    await wishlists.add(GUEST, "CAP")
    await wishlists.add(ADA, "CAP")
    assert await wishlists.merge(GUEST, ADA) == []
    assert sorted(i.sku for i in (await wishlists.list(ADA, limit=10, cursor=None)).results) == ["CAP", "TEE"]
    assert (await wishlists.list(GUEST, limit=10, cursor=None)).results == []
    assert await wishlists.merge(GUEST, ADA) == []  # nothing left to merge
    with pytest.raises(InvalidValue):
        await wishlists.merge(ADA, ADA)
