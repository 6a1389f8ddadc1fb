"""Use cases: initiate a checkout, price it (shipping, tax, coupon), confirm it into an order."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timedelta

from application import cache_keys, invalidation
from application.caching import CacheAside
from application.errors import AlreadyExists, Conflict, NotFound
from application.ports import CheckoutSessionStore, Clock, IdGenerator
from application.ports.catalog import ProductsUnitOfWork
from application.ports.checkout import CheckoutUnitOfWork
from domain.catalog import CouponRedemption, Product
from domain.checkout import CheckoutSession
from domain.errors import CouponInvalid, InvalidValue, ProductUnavailable
from domain.money import Money
from domain.orders import Order
from domain.places import Address
from domain.pricing import ShippingMethod, ShippingRates, TaxRules
from domain.users import Principal


async def load_products(uow: ProductsUnitOfWork, items: Sequence[tuple[str, int]],
                        lock: bool = False) -> list[tuple[Product, int]]:
    """Products for (sku, quantity) pairs, or InvalidValue naming every unknown sku."""
    skus = [sku for sku, _ in items]
    found = await (uow.products.lock_by_skus(skus) if lock else uow.products.get_by_skus(skus))
    unknown = sorted({s for s in skus if s not in found})
    if unknown:
        raise InvalidValue(f"unknown sku: {', '.join(unknown)}", field="items", skus=unknown)
    return [(found[sku], quantity) for sku, quantity in items]


def _quote_bytes(product: Product) -> bytes:
    """What a checkout reads of a product (its quote and availability), for the cache."""
    return json.dumps([product.id, product.sku, product.name, product.price.amount, product.price.currency,
                       product.stock, product.category, product.active, product.version, product.shippable]).encode()


def _quoted(raw: bytes) -> Product:
    id, sku, name, amount, currency, stock, category, active, version, shippable = json.loads(raw)
    return Product(id=id, sku=sku, name=name, price=Money(amount, currency), stock=stock, category=category,
                   active=active, version=version, shippable=shippable)


class _Unknown(Exception):
    """A sku with no product: never cached (random skus must not fill the cache)."""


class Checkout:
    def __init__(self, uow: Callable[[], CheckoutUnitOfWork], sessions: CheckoutSessionStore, clock: Clock,
                 ids: IdGenerator, shipping_rates: ShippingRates, tax_rules: TaxRules, session_ttl: float = 1800,
                 cache: CacheAside | None = None, product_ttl: float = 0) -> None:
        """``product_ttl``: how long a product's quote read by an initiate may be cached (0: not
        cached, every initiate reads the catalog). Any product's change drops every quote (they
        are a group of the product list's), and a quote is only a quote: the confirmation locks
        the products and refuses a price that changed, takes the stock, and checks it is sold."""
        self.uow, self.sessions, self.clock, self.ids = uow, sessions, clock, ids
        self.rates, self.taxes, self.ttl, self.cache = shipping_rates, tax_rules, session_ttl, cache
        self.product_ttl = product_ttl if cache is not None else 0

    async def initiate(self, principal: Principal, items: Sequence[tuple[str, int]],
                       from_cart: bool = False) -> CheckoutSession:
        """A session from ``items``, or from the caller's cart (then emptied when it is confirmed)."""
        if from_cart:
            async with self.uow() as uow:
                cart = await uow.carts.get(principal.id)
                if cart is None or not cart.lines:
                    raise InvalidValue("your cart is empty", field="from_cart")
                lines = await load_products(uow, [(line.sku, line.quantity) for line in cart.lines])
        else:
            lines = await self._quotes(items)
        session = CheckoutSession.start(self.ids.new_id("chk"), principal.id, lines, self.clock.now())
        session.from_cart = from_cart
        return await self._update(session)

    async def _quotes(self, items: Sequence[tuple[str, int]]) -> list[tuple[Product, int]]:
        """The products of ``items`` as ``load_products`` gives them, from the cache when it has them."""
        if self.product_ttl <= 0:
            async with self.uow() as uow:
                return await load_products(uow, items)
        found: dict[str, Product] = {}
        unknown = []
        for sku in dict.fromkeys(sku for sku, _ in items):
            async def load(sku: str = sku) -> bytes:
                async with self.uow() as uow:
                    product = (await uow.products.get_by_skus([sku])).get(sku)
                if product is None:
                    raise _Unknown(sku)
                return _quote_bytes(product)
            try:
                raw = await self.cache.get(cache_keys.in_group(cache_keys.PRODUCTS, f"quote:{sku}"), self.product_ttl,
                                           load, namespace="product", group=cache_keys.PRODUCTS)
            except _Unknown:
                unknown.append(sku)
                continue
            found[sku] = _quoted(raw)
        if unknown:
            raise InvalidValue(f"unknown sku: {', '.join(sorted(unknown))}", field="items", skus=sorted(unknown))
        return [(found[sku], quantity) for sku, quantity in items]

    async def get(self, principal: Principal, checkout_id: str) -> CheckoutSession:
        session = await self.sessions.get(checkout_id)
        if session is None or not principal.may_see(session.owner_id) or session.is_expired(self.clock.now()):
            raise NotFound("this checkout does not exist or has expired", checkout_id=checkout_id)
        return session

    async def _update(self, session: CheckoutSession) -> CheckoutSession:
        """Store the session; every save restarts its TTL (``updated_at`` is the last change)."""
        session.expires_at = session.updated_at + timedelta(seconds=self.ttl)
        await self.sessions.save(session, self.ttl)
        return session

    async def calculate_shipping(self, principal: Principal, checkout_id: str, address: Address | None,
                                 method: ShippingMethod, station_id: str | None = None,
                                 address_id: str | None = None) -> CheckoutSession:
        """Ship to ``address``, to the caller's saved address ``address_id``, or (pickup) to a station."""
        session = await self.get(principal, checkout_id)
        if address_id is not None:
            if address is not None:
                raise InvalidValue("send an address or an address_id, not both", field="address_id")
            async with self.uow() as uow:
                saved = await uow.addresses.get(address_id)
            if saved is None or saved.owner_id != session.owner_id:
                raise NotFound("no such saved address", address_id=address_id)
            address = saved.as_address()
        session.set_shipping(address, method, self.rates, self.taxes, self.clock.now(), station_id)
        return await self._update(session)

    def shipping_options(self, country: str, currency: str | None = None) -> dict:
        """Methods, prices and pickup stations for ``country`` (from the pricing configuration)."""
        return {"country": country.upper(), "methods": self.rates.options(country, currency),
                "stations": list(self.rates.stations.get(country.upper(), ()))}

    async def calculate_tax(self, principal: Principal, checkout_id: str) -> CheckoutSession:
        session = await self.get(principal, checkout_id)
        session.calculate_tax(self.taxes, self.clock.now())
        return await self._update(session)

    async def apply_coupon(self, principal: Principal, checkout_id: str, code: str) -> CheckoutSession:
        session = await self.get(principal, checkout_id)
        async with self.uow() as uow:
            coupon = await uow.coupons.get(code.strip())
            used = 0 if coupon is None else await uow.redemptions.count_for_user(coupon.code, session.owner_id)
        if coupon is None:
            raise CouponInvalid("no such coupon", code=code)
        session.apply_coupon(coupon, self.clock.now(), self.taxes, self.rates, used)
        return await self._update(session)

    async def remove_coupon(self, principal: Principal, checkout_id: str) -> CheckoutSession:
        session = await self.get(principal, checkout_id)
        if session.coupon_code is None:
            raise InvalidValue("this checkout has no coupon", field="checkout_id")
        session.remove_coupon(self.clock.now(), self.taxes, self.rates)
        return await self._update(session)

    async def confirm(self, principal: Principal, checkout_id: str) -> tuple[Order, bool]:
        """The order for this checkout, and whether this call created it (a second confirm of the
        same checkout returns the same order, never a second one)."""
        session = await self.sessions.get(checkout_id)  # read once: a concurrent confirm may delete it
        if session is None:
            return await self._already_confirmed(principal, checkout_id), False
        now = self.clock.now()
        if not principal.may_see(session.owner_id) or session.is_expired(now):
            raise NotFound("this checkout does not exist or has expired", checkout_id=checkout_id)
        session.check_ready()
        if session.tax_country is None:  # never an order without its tax: priced as calculate-tax would
            session.calculate_tax(self.taxes, now)
        try:
            async with self.uow() as uow:  # a second confirm of this checkout: AlreadyExists from the insert
                s = session.summary()
                order = Order.place(
                    id=self.ids.new_id("ord"), order_number=self.ids.order_number(), owner=principal,
                    items=session.items, currency=s.currency, subtotal=s.subtotal, discount=s.discount,
                    shipping=s.shipping, tax=s.tax, total=s.total, now=now, coupon_code=session.coupon_code,
                    checkout_id=checkout_id,
                )
                await uow.orders.add(order)
                if session.coupon_code:
                    coupon = await uow.coupons.lock(session.coupon_code)
                    if coupon is None:
                        raise CouponInvalid("the coupon no longer exists", code=session.coupon_code)
                    used = await uow.redemptions.count_for_user(coupon.code, session.owner_id)
                    discount = coupon.redeem(session.subtotal, now, used)
                    if discount != Money(session.discount, session.currency):
                        raise Conflict("the coupon's discount changed; apply it again", code=coupon.code)
                    await uow.coupons.save(coupon)
                    await uow.redemptions.add(CouponRedemption(session.coupon_code, order.id, session.owner_id, now))
                if session.from_cart and (cart := await uow.carts.get(session.owner_id)) is not None:
                    cart.take_out([(i.sku, i.quantity) for i in session.items], now)
                    await uow.carts.save(cart)
                # last: a best-seller's row is locked by every checkout of it, so it is held only
                # from here to the commit (three round trips), not while the order is written
                lines = await load_products(uow, [(i.sku, i.quantity) for i in session.items], lock=True)
                for (product, quantity), item in zip(lines, session.items, strict=True):
                    if not product.active:
                        raise ProductUnavailable(f"{product.sku} is no longer sold", sku=product.sku)
                    if product.price.amount != item.unit_price or product.price.currency != session.currency:
                        raise Conflict(f"the price of {product.sku} changed; start a new checkout",
                                       sku=product.sku, was=item.unit_price, now=product.price.amount)
                    product.take_stock(quantity)
                    await uow.products.save(product)
                await invalidation.stage(uow, self.cache, product_ids=[p.id for p, _ in lines], orders=(order,))
                await uow.commit()
        except AlreadyExists:  # a concurrent confirm of the same checkout won the race
            return await self._already_confirmed(principal, checkout_id), False
        await self.sessions.delete(checkout_id)
        return order, True

    async def _already_confirmed(self, principal: Principal, checkout_id: str) -> Order:
        async with self.uow() as uow:
            order = await uow.orders.get_by_checkout(checkout_id)
        if order is None or not principal.may_see(order.owner_id):
            raise NotFound("this checkout does not exist or has expired", checkout_id=checkout_id)
        return order
