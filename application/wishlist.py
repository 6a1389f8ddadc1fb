"""Use cases: a user's (or guest's) wishlist: keep, drop, list at today's prices, move to the cart,
merge a guest's at login."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

import attrs

from application.cart import priced
from application.errors import NotFound
from application.pagination import decode_cursor, encode_cursor
from application.ports import Clock, Page
from application.ports.wishlist import WishlistUnitOfWork
from application.retrying import on_conflict
from domain.cart import Cart, PricedCart
from domain.catalog import Product
from domain.errors import InvalidValue
from domain.wishlist import Wishlist
from domain.users import Principal

#: Two tabs may race on one list: retry the read-modify-write this often.
ATTEMPTS = 3
T = TypeVar("T")


@attrs.frozen
class WishedProduct:
    """One item as the owner sees it now: today's price, and whether it can be bought."""

    sku: str
    added_at: datetime
    product_id: str | None
    name: str | None
    price: int | None
    currency: str | None
    available: bool

    @classmethod
    def of(cls, sku: str, added_at: datetime, product: Product | None) -> WishedProduct:
        if product is None:
            return cls(sku, added_at, None, None, None, None, False)
        return cls(sku, added_at, product.id, product.name, product.price.amount, product.price.currency,
                   product.active and product.stock > 0)


async def _sold(uow: WishlistUnitOfWork, sku: str) -> Product:
    product = (await uow.products.get_by_skus([sku])).get(sku)
    if product is None or not product.active:
        raise InvalidValue(f"unknown sku: {sku}", field="sku", skus=[sku])
    return product


class Wishlists:
    def __init__(self, uow: Callable[[], WishlistUnitOfWork], clock: Clock) -> None:
        self.uow, self.clock = uow, clock

    async def list(self, principal: Principal, limit: int, cursor: str | None) -> Page:
        """Newest first by (added_at, sku), keyset cursor (a list holds at most a hundred items)."""
        async with self.uow() as uow:
            wishlist = await uow.wishlists.get(principal.id)
            items = sorted(wishlist.items if wishlist else [], key=lambda i: (i.added_at, i.sku), reverse=True)
            if cursor:
                after = decode_cursor(cursor)
                items = [i for i in items if (i.added_at.isoformat(), i.sku) < after]
            chunk = items[:limit]
            products = await uow.products.get_by_skus([i.sku for i in chunk]) if chunk else {}
        more = len(items) > limit and chunk
        next_cursor = encode_cursor(chunk[-1].added_at.isoformat(), chunk[-1].sku) if more else None
        return Page([WishedProduct.of(i.sku, i.added_at, products.get(i.sku)) for i in chunk], next_cursor)

    async def _change(self, owner_id: str, change: Callable[[WishlistUnitOfWork, Wishlist], Awaitable[T]]) -> T:
        async def once() -> T:
            async with self.uow() as uow:
                wishlist = await uow.wishlists.get(owner_id) or Wishlist.empty(owner_id, self.clock.now())
                before = wishlist.version
                result = await change(uow, wishlist)
                if wishlist.version != before:  # keeping an item kept already writes nothing
                    await uow.wishlists.save(wishlist)
                await uow.commit()
            return result
        return await on_conflict(ATTEMPTS, once)

    async def add(self, principal: Principal, sku: str) -> WishedProduct:
        """Keep ``sku`` (a product on sale); keeping it again changes nothing."""
        async def change(uow: WishlistUnitOfWork, wishlist: Wishlist) -> WishedProduct:
            product = await _sold(uow, sku)
            wishlist.add(sku, self.clock.now())
            added_at = next(i.added_at for i in wishlist.items if i.sku == sku)
            return WishedProduct.of(sku, added_at, product)
        return await self._change(principal.id, change)

    async def remove(self, principal: Principal, sku: str) -> None:
        async def change(uow: WishlistUnitOfWork, wishlist: Wishlist) -> None:
            if not wishlist.holds(sku):
                raise NotFound(f"{sku} is not in your wishlist", sku=sku)
            wishlist.remove(sku, self.clock.now())
        await self._change(principal.id, change)

    async def move_to_cart(self, principal: Principal, sku: str, quantity: int = 1) -> PricedCart:
        """Put ``quantity`` of a kept item in the cart and take it off the list, in one transaction:
        if the cart refuses it (stock, currency), the list keeps it."""
        async def change(uow: WishlistUnitOfWork, wishlist: Wishlist) -> PricedCart:
            if not wishlist.holds(sku):
                raise NotFound(f"{sku} is not in your wishlist", sku=sku)
            product = await _sold(uow, sku)
            now = self.clock.now()
            cart = await uow.carts.get(principal.id) or Cart.empty(principal.id, now)
            cart.add(product, quantity, now)
            wishlist.remove(sku, now)
            await uow.carts.save(cart)
            return await priced(uow, cart)
        return await self._change(principal.id, change)

    async def merge(self, guest: Principal, user: Principal) -> list[str]:
        """Move the guest's list into the user's (at login); returns the skus left out for want of room."""
        if not guest.is_guest:
            raise InvalidValue("guest_token is not a guest's token", field="guest_token")

        async def change(uow: WishlistUnitOfWork, wishlist: Wishlist) -> list[str]:
            theirs = await uow.wishlists.get(guest.id)
            if theirs is None:
                return []
            left_out = wishlist.merge(theirs, self.clock.now())
            # only the version merged: an item the guest kept meanwhile (another tab) makes this a
            # ConcurrencyConflict, and the merge runs again with it
            await uow.wishlists.delete(guest.id, theirs.version)
            return left_out
        return await self._change(user.id, change)
