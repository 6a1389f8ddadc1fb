"""Cart: what a user (or a guest) means to buy, kept between visits and priced from current prices."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs

from domain.catalog import MAX_QUANTITY, Product, check_quantity
from domain.errors import CurrencyMismatch, InvalidValue
from domain.money import Money

MAX_CART_LINES = 50


@attrs.frozen
class CartLine:
    sku: str
    quantity: int


@attrs.define
class Cart:
    """One cart per owner (user id or guest id), in one currency (set by the first item added).

    Lines hold skus and quantities only: prices are always today's, read when the cart is shown.
    ``version`` goes up on every change (optimistic concurrency in the repositories).
    """

    owner_id: str
    updated_at: datetime
    lines: list[CartLine] = attrs.field(factory=list)
    currency: str | None = None
    version: int = 0

    @classmethod
    def empty(cls, owner_id: str, now: datetime) -> Cart:
        return cls(owner_id=owner_id, updated_at=now)

    def quantity_of(self, sku: str) -> int:
        return next((line.quantity for line in self.lines if line.sku == sku), 0)

    def add(self, product: Product, quantity: int, now: datetime) -> None:
        """Add ``quantity`` of ``product`` (on top of what the cart holds)."""
        check_quantity(quantity)
        total = self.quantity_of(product.sku) + quantity
        if total > MAX_QUANTITY:
            raise InvalidValue(f"the cart would hold {total} of {product.sku}; at most {MAX_QUANTITY} of one item",
                               field="quantity", sku=product.sku)
        self.set_quantity(product, total, now)

    def set_quantity(self, product: Product, quantity: int, now: datetime) -> None:
        check_quantity(quantity)
        others = [line for line in self.lines if line.sku != product.sku]
        if others and product.price.currency != self.currency:
            raise CurrencyMismatch(f"this cart is in {self.currency}; {product.sku} is priced in "
                                   f"{product.price.currency}", expected=self.currency, got=product.price.currency)
        product.check_available(quantity)
        if self.quantity_of(product.sku) == 0 and len(self.lines) >= MAX_CART_LINES:
            raise InvalidValue(f"a cart holds at most {MAX_CART_LINES} different items")
        self.lines = [line if line.sku != product.sku else CartLine(product.sku, quantity) for line in self.lines]
        if all(line.sku != product.sku for line in self.lines):
            self.lines.append(CartLine(product.sku, quantity))
        self.currency = product.price.currency
        self._changed(now)

    def remove(self, sku: str, now: datetime) -> None:
        if self.quantity_of(sku) == 0:
            raise InvalidValue(f"{sku} is not in the cart", field="sku", sku=sku)
        self.lines = [line for line in self.lines if line.sku != sku]
        self._changed(now)

    def take_out(self, purchased: Iterable[tuple[str, int]], now: datetime) -> None:
        """Remove what a confirmed checkout bought (items added since then stay in the cart)."""
        bought = dict(purchased)
        remaining = [CartLine(line.sku, line.quantity - bought.get(line.sku, 0)) for line in self.lines]
        self.lines = [line for line in remaining if line.quantity > 0]
        self._changed(now)

    def merge(self, other: Cart, products: Mapping[str, Product], now: datetime) -> list[str]:
        """Move ``other``'s lines (a guest's cart) into this one; quantities add up, capped at stock.

        Returns the skus that could not be moved (no longer sold, or in another currency).
        """
        skipped = []
        for line in other.lines:
            product = products.get(line.sku)
            if product is None or not product.active or product.stock <= 0:
                skipped.append(line.sku)
                continue
            wanted = min(self.quantity_of(line.sku) + line.quantity, product.stock, MAX_QUANTITY)
            try:
                self.set_quantity(product, wanted, now)
            except (CurrencyMismatch, InvalidValue):
                skipped.append(line.sku)
        return skipped

    def _changed(self, now: datetime) -> None:
        if not self.lines:
            self.currency = None
        self.updated_at = now
        self.version += 1


@attrs.frozen
class PricedLine:
    sku: str
    product_id: str | None
    name: str | None
    quantity: int
    unit_price: int
    available: bool
    issue: str | None = None

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity if self.available else 0


@attrs.frozen
class PricedCart:
    """The cart at today's prices. Lines whose product is gone or no longer sold are flagged and
    left out of the subtotal; a line above today's stock is flagged but counted."""

    cart: Cart
    lines: list[PricedLine]
    currency: str | None

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines if line.available)


def price_cart(cart: Cart, products: Mapping[str, Product]) -> PricedCart:
    lines = []
    for line in cart.lines:
        product = products.get(line.sku)
        if product is None or not product.active:
            lines.append(PricedLine(line.sku, product and product.id, product and product.name, line.quantity,
                                    0, False, "no longer sold"))
            continue
        if cart.currency is not None and product.price.currency != cart.currency:
            lines.append(PricedLine(line.sku, product.id, product.name, line.quantity, 0, False,
                                    f"now priced in {product.price.currency}"))
            continue
        issue = f"only {product.stock} left" if line.quantity > product.stock else None
        lines.append(PricedLine(line.sku, product.id, product.name, line.quantity, product.price.amount, True, issue))
    if cart.currency is not None:
        Money(sum(line.total for line in lines), cart.currency)  # validates the currency and the range
    return PricedCart(cart, lines, cart.currency)
