"""Use cases: the cart of a user or guest (add, change, remove, show at today's prices, merge at login)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from application.ports import Clock
from application.retrying import on_conflict
from application.ports.cart import CartUnitOfWork
from application.ports.catalog import ProductsUnitOfWork
from domain.cart import Cart, PricedCart, price_cart
from domain.catalog import Product
from domain.errors import InvalidValue
from domain.users import Principal

#: A cart is changed by one person, but two tabs may race: retry the read-modify-write this often.
ATTEMPTS = 3


async def _product(uow: ProductsUnitOfWork, sku: str) -> Product:
    found = await uow.products.get_by_skus([sku])
    if sku not in found:
        raise InvalidValue(f"unknown sku: {sku}", field="sku", skus=[sku])
    return found[sku]


async def priced(uow: ProductsUnitOfWork, cart: Cart) -> PricedCart:
    products = await uow.products.get_by_skus([line.sku for line in cart.lines]) if cart.lines else {}
    return price_cart(cart, products)


class Carts:
    def __init__(self, uow: Callable[[], CartUnitOfWork], clock: Clock) -> None:
        self.uow, self.clock = uow, clock

    async def get(self, principal: Principal) -> PricedCart:
        async with self.uow() as uow:
            cart = await uow.carts.get(principal.id) or Cart.empty(principal.id, self.clock.now())
            return await priced(uow, cart)

    async def _change(self, owner_id: str, change: Callable[[CartUnitOfWork, Cart], Awaitable[None]]) -> PricedCart:
        async def once() -> PricedCart:
            async with self.uow() as uow:
                cart = await uow.carts.get(owner_id) or Cart.empty(owner_id, self.clock.now())
                await change(uow, cart)
                await uow.carts.save(cart)
                result = await priced(uow, cart)
                await uow.commit()
            return result
        return await on_conflict(ATTEMPTS, once)

    async def add(self, principal: Principal, sku: str, quantity: int) -> PricedCart:
        async def change(uow: CartUnitOfWork, cart: Cart) -> None:
            cart.add(await _product(uow, sku), quantity, self.clock.now())
        return await self._change(principal.id, change)

    async def set_quantity(self, principal: Principal, sku: str, quantity: int) -> PricedCart:
        async def change(uow: CartUnitOfWork, cart: Cart) -> None:
            if cart.quantity_of(sku) == 0:
                raise InvalidValue(f"{sku} is not in the cart; add it with POST /cart/items", field="sku", sku=sku)
            cart.set_quantity(await _product(uow, sku), quantity, self.clock.now())
        return await self._change(principal.id, change)

    async def remove(self, principal: Principal, sku: str) -> PricedCart:
        async def change(uow: CartUnitOfWork, cart: Cart) -> None:
            cart.remove(sku, self.clock.now())
        return await self._change(principal.id, change)

    async def merge(self, guest: Principal, user: Principal) -> list[str]:
        """Move the guest's cart into the user's (at login); returns the skus left behind."""
        if not guest.is_guest:
            raise InvalidValue("guest_token is not a guest's token", field="guest_token")
        skipped: list[str] = []

        async def change(uow: CartUnitOfWork, cart: Cart) -> None:
            guest_cart = await uow.carts.get(guest.id)
            if guest_cart is None or not guest_cart.lines:
                return
            products = await uow.products.get_by_skus([line.sku for line in guest_cart.lines])
            skipped[:] = cart.merge(guest_cart, products, self.clock.now())
            # only the version merged: a line the guest added meanwhile (another tab) makes this
            # a ConcurrencyConflict, and the merge runs again with it
            await uow.carts.delete(guest.id, guest_cart.version)
        await self._change(user.id, change)
        return skipped
