"""Contract of the cart, saved-address and coupon-redemption repositories, on memory and Postgres."""
from __future__ import annotations

import asyncio

import pytest

import pg_builders as b
from application.errors import AlreadyExists, ConcurrencyConflict
from domain.cart import Cart, CartLine
from domain.catalog import CouponRedemption
from domain.delivery import SavedAddress
from domain.places import Address


async def test_carts_round_trip_update_and_delete(backend):
    async with backend.uow() as uow:
        assert await uow.carts.get("usr_1") is None
        cart = Cart.empty("usr_1", b.at(0))
        cart.add(b.product(), 2, b.at(1))
        await uow.carts.save(cart)
        await uow.commit()
    async with backend.uow() as uow:
        cart = await uow.carts.get("usr_1")
        assert (cart.lines, cart.currency, cart.version, cart.updated_at) == ([CartLine("TEE-1", 2)], "NGN", 1, b.at(1))
        cart.remove("TEE-1", b.at(2))
        await uow.carts.save(cart)
        await uow.commit()
    async with backend.uow() as uow:
        cart = await uow.carts.get("usr_1")
        assert cart.lines == [] and cart.currency is None and cart.version == 2
        await uow.carts.delete("usr_1")
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.carts.get("usr_1") is None


async def test_a_lost_cart_update_is_refused(pg_backend):
    """Postgres only: the memory unit of work is serialised as a whole, so it cannot lose an update."""
    async with pg_backend.uow() as uow:
        await uow.carts.save(Cart.empty("usr_1", b.at(0)))
        await uow.commit()

    async def change(quantity: int, loaded: asyncio.Event, go: asyncio.Event) -> None:
        async with pg_backend.uow() as uow:
            cart = await uow.carts.get("usr_1")
            loaded.set()
            await go.wait()
            cart.add(b.product(), quantity, b.at(1))
            await uow.carts.save(cart)
            await uow.commit()

    first_loaded, second_loaded, go = asyncio.Event(), asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(change(1, first_loaded, go))
    second = asyncio.create_task(change(2, second_loaded, go))
    await first_loaded.wait()
    await second_loaded.wait()
    go.set()
    outcomes = await asyncio.gather(first, second, return_exceptions=True)
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1
    async with pg_backend.uow() as uow:
        assert len((await uow.carts.get("usr_1")).lines) == 1


async def test_saved_addresses_newest_first_and_deleted(backend):
    async with backend.uow() as uow:
        for n in range(3):
            await uow.addresses.add(SavedAddress.create(f"adr_{n}", "usr_1", Address("NG", "Lagos", f"{n} Marina"),
                                                        None, b.at(n), n))
        await uow.addresses.add(SavedAddress.create("adr_x", "usr_2", Address("GH", "Accra", "x"), "w", b.at(9), 0))
        with pytest.raises(AlreadyExists):
            await uow.addresses.add(SavedAddress.create("adr_0", "usr_1", Address("NG", "L", "x"), None, b.at(0), 0))
        await uow.commit()
    async with backend.uow() as uow:
        assert [a.id for a in await uow.addresses.for_owner("usr_1")] == ["adr_2", "adr_1", "adr_0"]
        assert (await uow.addresses.get("adr_x")).label == "w"
        await uow.addresses.delete("adr_1")
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.addresses.get("adr_1") is None
        assert [a.id for a in await uow.addresses.for_owner("usr_1")] == ["adr_2", "adr_0"]


async def test_redemptions_count_per_user_and_are_unique_per_order(backend):
    async with backend.uow() as uow:
        await uow.coupons.add(b.coupon())
        await uow.orders.add(b.order("ord_1"))
        await uow.orders.add(b.order("ord_2"))
        await uow.redemptions.add(CouponRedemption("welcome10", "ord_1", "usr_1", b.at(0)))
        await uow.redemptions.add(CouponRedemption("WELCOME10", "ord_2", "usr_1", b.at(1)))
        with pytest.raises(AlreadyExists):
            await uow.redemptions.add(CouponRedemption("WELCOME10", "ord_1", "usr_1", b.at(2)))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.redemptions.count_for_user("Welcome10", "usr_1") == 2
        assert await uow.redemptions.count_for_user("WELCOME10", "usr_2") == 0
