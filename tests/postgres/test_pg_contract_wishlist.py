"""Contract of the wishlist repository, on memory and Postgres."""
from __future__ import annotations

import asyncio

import pg_builders as b
from application.errors import ConcurrencyConflict
from domain.wishlist import Wishlist, WishlistItem


async def test_wishlists_round_trip_update_and_delete(backend):
    async with backend.uow() as uow:
        assert await uow.wishlists.get("usr_1") is None
        wishlist = Wishlist.empty("usr_1", b.at(0))
        wishlist.add("TEE-1", b.at(1))
        wishlist.add("CAP-1", b.at(2))
        await uow.wishlists.save(wishlist)
        await uow.commit()
    async with backend.uow() as uow:
        wishlist = await uow.wishlists.get("usr_1")
        assert wishlist.items == [WishlistItem("TEE-1", b.at(1)), WishlistItem("CAP-1", b.at(2))]
        assert (wishlist.version, wishlist.updated_at) == (2, b.at(2))
        wishlist.remove("TEE-1", b.at(3))
        await uow.wishlists.save(wishlist)
        await uow.commit()
    async with backend.uow() as uow:
        wishlist = await uow.wishlists.get("usr_1")
        assert [i.sku for i in wishlist.items] == ["CAP-1"] and wishlist.version == 3
        assert await uow.wishlists.get("usr_2") is None
        await uow.wishlists.delete("usr_1")
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.wishlists.get("usr_1") is None


async def test_a_lost_wishlist_update_is_refused(pg_backend):
    """Postgres only: the memory unit of work is serialised as a whole, so it cannot lose an update."""
    async with pg_backend.uow() as uow:
        await uow.wishlists.save(Wishlist.empty("usr_1", b.at(0)))
        await uow.commit()

    async def change(sku: str, loaded: asyncio.Event, go: asyncio.Event) -> None:
        async with pg_backend.uow() as uow:
            wishlist = await uow.wishlists.get("usr_1")
            loaded.set()
            await go.wait()
            wishlist.add(sku, b.at(1))
            await uow.wishlists.save(wishlist)
            await uow.commit()

    first_loaded, second_loaded, go = asyncio.Event(), asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(change("A", first_loaded, go)), asyncio.create_task(change("B", second_loaded, go))]
    await first_loaded.wait()
    await second_loaded.wait()
    go.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1
    async with pg_backend.uow() as uow:
        assert len((await uow.wishlists.get("usr_1")).items) == 1


async def test_a_wishlist_created_twice_at_once_is_a_conflict(pg_backend):
    async with pg_backend.uow() as first, pg_backend.uow() as second:
        await first.wishlists.save(Wishlist.empty("usr_1", b.at(0)))
        await first.commit()
        try:
            await second.wishlists.save(Wishlist.empty("usr_1", b.at(0)))
        except ConcurrencyConflict:
            return
    raise AssertionError("the second insert should have been refused")
