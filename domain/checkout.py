"""Checkout session: a basket being priced (items, coupon, shipping, tax) before it becomes an order."""
from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from domain.catalog import Coupon, Product, check_quantity
from domain.errors import CurrencyMismatch, InvalidValue
from domain.money import Money
from domain.places import Address
from domain.pricing import HOME_COUNTRY_OF_CURRENCY, ShippingMethod, ShippingRates, TaxRules

SESSION_TTL = timedelta(minutes=30)
MAX_LINES = 50


@attrs.frozen
class LineItem:
    sku: str
    product_id: str
    name: str
    unit_price: int
    quantity: int

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


@attrs.frozen
class Summary:
    subtotal: int
    discount: int
    shipping: int
    tax: int
    total: int
    currency: str
    tax_inclusive: bool = False


@attrs.define
class CheckoutSession:
    id: str
    owner_id: str
    currency: str
    items: list[LineItem]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    coupon_code: str | None = None
    discount: int = 0
    address: Address | None = None
    shipping_method: ShippingMethod | None = None
    shipping: int = 0
    tax: int = 0
    tax_inclusive: bool = False
    tax_country: str | None = None
    order_id: str | None = None
    station_id: str | None = None
    from_cart: bool = False
    #: some item is sent to the customer: confirming needs a shipping decision (calculate-shipping)
    ships: bool = True

    @classmethod
    def start(cls, id: str, owner_id: str, lines: list[tuple[Product, int]], now: datetime) -> CheckoutSession:
        if not lines:
            raise InvalidValue("a checkout needs at least one item")
        if len(lines) > MAX_LINES:
            raise InvalidValue(f"a checkout holds at most {MAX_LINES} different items")
        merged: dict[str, tuple[Product, int]] = {}
        for product, quantity in lines:
            check_quantity(quantity)
            prev = merged.get(product.sku)
            merged[product.sku] = (product, quantity + (prev[1] if prev else 0))
        currencies = {p.price.currency for p, _ in merged.values()}
        if len(currencies) != 1:
            raise CurrencyMismatch("all items of a checkout must be in one currency", currencies=sorted(currencies))
        items = []
        for product, quantity in merged.values():
            check_quantity(quantity)
            product.check_available(quantity)
            items.append(LineItem(product.sku, product.id, product.name, product.price.amount, quantity))
        return cls(
            id=id, owner_id=owner_id, currency=currencies.pop(), items=items,
            created_at=now, updated_at=now, expires_at=now + SESSION_TTL,
            ships=any(product.shippable for product, _ in merged.values()),
        )

    def check_ready(self) -> None:
        """What confirming needs: where the goods go, when there are goods to send."""
        if self.ships and self.shipping_method is None:
            raise InvalidValue("choose how the items reach you first (POST /checkout/calculate-shipping: an "
                               "address, a saved address or a pickup station)", field="checkout_id")

    # -- pricing -----------------------------------------------------------------------------
    @property
    def subtotal(self) -> Money:
        return Money(sum(i.total for i in self.items), self.currency)

    def summary(self) -> Summary:
        subtotal = self.subtotal.amount
        total = subtotal - self.discount + self.shipping + (0 if self.tax_inclusive else self.tax)
        return Summary(subtotal, self.discount, self.shipping, self.tax, total, self.currency, self.tax_inclusive)

    def apply_coupon(self, coupon: Coupon, now: datetime, taxes: TaxRules, rates: ShippingRates,
                     user_uses: int = 0) -> None:
        """One coupon per checkout: applying another replaces it."""
        self.discount = coupon.discount_for(self.subtotal, now, user_uses).amount
        self.coupon_code = coupon.code
        self._reprice(taxes, rates)
        self.touch(now)

    def remove_coupon(self, now: datetime, taxes: TaxRules, rates: ShippingRates) -> None:
        self.coupon_code, self.discount = None, 0
        self._reprice(taxes, rates)
        self.touch(now)

    def _reprice(self, taxes: TaxRules, rates: ShippingRates) -> None:
        """Shipping (free-shipping thresholds look at the discounted subtotal) and tax follow the discount."""
        if self.address is not None and self.shipping_method is not None:
            discounted = Money(self.subtotal.amount - self.discount, self.currency)
            self.shipping = rates.quote(self.address.country, self.shipping_method, discounted).amount
        self._retax(taxes)

    def set_shipping(self, address: Address | None, method: ShippingMethod, rates: ShippingRates,
                     taxes: TaxRules, now: datetime, station_id: str | None = None) -> None:
        """Pickup goes to a station (its address is the delivery address); other methods to ``address``."""
        if method is ShippingMethod.PICKUP:
            if station_id is None:
                raise InvalidValue("pickup needs a station_id (see GET /shipping/options)", field="station_id")
            station = rates.station(station_id)
            if address is not None and address.country.upper() != station.country:
                raise InvalidValue(f"station {station_id} is in {station.country}, not {address.country.upper()}",
                                   field="station_id")
            address = station.as_address()
        elif station_id is not None:
            raise InvalidValue("station_id is only for pickup", field="station_id")
        if address is None:
            raise InvalidValue("send an address or an address_id", field="address")
        discounted = Money(self.subtotal.amount - self.discount, self.currency)
        self.shipping = rates.quote(address.country, method, discounted).amount
        self.address, self.shipping_method, self.station_id = address, method, station_id
        self.tax_country = address.country.upper()
        self._retax(taxes)
        self.touch(now)

    def calculate_tax(self, taxes: TaxRules, now: datetime) -> None:
        if self.tax_country is None:
            self.tax_country = HOME_COUNTRY_OF_CURRENCY.get(self.currency, "*")
        self._retax(taxes)
        self.touch(now)

    def _retax(self, taxes: TaxRules) -> None:
        """Tax is on the discounted subtotal (not shipping); recomputed whenever its inputs change."""
        if self.tax_country is None:
            return
        taxable = Money(self.subtotal.amount - self.discount, self.currency)
        tax, inclusive = taxes.tax_on(taxable, self.tax_country)
        self.tax, self.tax_inclusive = tax.amount, inclusive

    def touch(self, now: datetime) -> None:
        self.updated_at = now
        self.expires_at = now + SESSION_TTL

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at
