"""The cart (domain) and the cart use cases on the memory adapters."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.demo import load_pricing
from adapters.memory.infrastructure import InMemoryEventBus
from adapters.memory.store import MemoryStore
from adapters.memory.uow import MemoryUnitOfWorkFactory
from adapters.system import FakeClock
from application.cart import Carts
from domain.cart import MAX_CART_LINES, Cart, CartLine, price_cart
from domain.catalog import MAX_QUANTITY, Product
from domain.errors import (
    CurrencyMismatch,
    InsufficientStock,
    InvalidValue,
    ProductUnavailable,
)
from domain.money import Money
from domain.pricing import TaxRule, TaxRules
from domain.users import Principal, Role

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RATES, _ = load_pricing(None)
TAXES = TaxRules({"NG": TaxRule(750), "UG": TaxRule(1800)})


def product(sku: str = "RICE", price: int = 1000, currency: str = "NGN", stock: int = 10, active: bool = True):
    return Product(id=f"prd_{sku}", sku=sku, name=sku.title(), price=Money(price, currency), stock=stock,
                   category="groceries", active=active)


# -- cart ----------------------------------------------------------------------------------------

def test_adding_twice_adds_up_and_every_change_bumps_the_version():
    cart = Cart.empty("usr_1", NOW)
    cart.add(product(), 2, NOW)
    cart.add(product(), 3, NOW)
    assert cart.lines == [CartLine("RICE", 5)] and cart.currency == "NGN" and cart.version == 2


def test_set_quantity_and_remove_and_the_currency_is_forgotten_when_empty():
    cart = Cart.empty("usr_1", NOW)
    cart.add(product(), 2, NOW)
    cart.set_quantity(product(), 7, NOW)
    assert cart.quantity_of("RICE") == 7
    cart.remove("RICE", NOW)
    assert cart.lines == [] and cart.currency is None
    cart.add(product("HEADPHONES", 7999, "USD"), 1, NOW)  # an empty cart takes any currency
    assert cart.currency == "USD"


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1, 1.5, True])
def test_bad_quantities_are_refused(quantity):
    cart = Cart.empty("usr_1", NOW)
    with pytest.raises(InvalidValue):
        cart.add(product(stock=5000), quantity, NOW)
    assert cart.lines == [] and cart.version == 0


def test_one_currency_per_cart():
    cart = Cart.empty("usr_1", NOW)
    cart.add(product(), 1, NOW)
    with pytest.raises(CurrencyMismatch):
        cart.add(product("HEADPHONES", 7999, "USD"), 1, NOW)
    assert cart.lines == [CartLine("RICE", 1)]


def test_stock_and_active_are_checked_when_adding():
    cart = Cart.empty("usr_1", NOW)
    with pytest.raises(InsufficientStock):
        cart.add(product(stock=3), 4, NOW)
    with pytest.raises(ProductUnavailable):
        cart.add(product(active=False), 1, NOW)
    assert cart.lines == []


def test_a_cart_holds_a_bounded_number_of_lines():
    cart = Cart.empty("usr_1", NOW)
    for n in range(MAX_CART_LINES):
        cart.add(product(f"SKU{n}"), 1, NOW)
    with pytest.raises(InvalidValue):
        cart.add(product("ONE-MORE"), 1, NOW)
    cart.add(product("SKU0"), 1, NOW)  # more of a line already there is fine


def test_removing_what_is_not_there_is_refused():
    with pytest.raises(InvalidValue):
        Cart.empty("usr_1", NOW).remove("RICE", NOW)


def test_priced_from_current_prices_flagging_what_is_no_longer_sold():
    cart = Cart("usr_1", NOW, [CartLine("RICE", 2), CartLine("OIL", 1), CartLine("GONE", 1), CartLine("TEA", 20)],
                currency="NGN")
    priced = price_cart(cart, {"RICE": product(price=1200), "OIL": product("OIL", active=False),
                               "TEA": product("TEA", price=50, stock=5)})
    by_sku = {line.sku: line for line in priced.lines}
    assert by_sku["RICE"].total == 2400 and by_sku["RICE"].available
    assert not by_sku["OIL"].available and by_sku["OIL"].total == 0 and by_sku["OIL"].issue == "no longer sold"
    assert not by_sku["GONE"].available and by_sku["GONE"].product_id is None
    assert by_sku["TEA"].available and by_sku["TEA"].issue == "only 5 left"
    assert priced.subtotal == 2400 + 1000 and priced.item_count == 22


def test_a_product_repriced_in_another_currency_is_flagged():
    cart = Cart("usr_1", NOW, [CartLine("RICE", 2)], currency="NGN")
    priced = price_cart(cart, {"RICE": product(currency="USD")})
    assert priced.subtotal == 0 and priced.lines[0].issue == "now priced in USD"


def test_merge_adds_quantities_caps_at_stock_and_reports_what_it_left():
    mine = Cart.empty("usr_1", NOW)
    mine.add(product(stock=10), 6, NOW)
    guest = Cart("gst_1", NOW, [CartLine("RICE", 7), CartLine("OIL", 1), CartLine("USB", 1), CartLine("GONE", 2)])
    products = {"RICE": product(stock=10), "OIL": product("OIL", active=False),
                "USB": product("USB", 500, "USD")}
    skipped = mine.merge(guest, products, NOW)
    assert mine.lines == [CartLine("RICE", 10)] and sorted(skipped) == ["GONE", "OIL", "USB"]


def test_take_out_removes_what_was_bought_and_keeps_what_was_added_since():
    cart = Cart("usr_1", NOW, [CartLine("RICE", 3), CartLine("OIL", 1)], currency="NGN")
    cart.take_out([("RICE", 2), ("OIL", 1)], NOW)
    assert cart.lines == [CartLine("RICE", 1)]
    cart.take_out([("RICE", 1)], NOW)
    assert cart.lines == [] and cart.currency is None


# -- the cart use cases on memory ----------------------------------------------------------------

async def test_merge_moves_the_guest_cart_and_deletes_it():
    store, clock = MemoryStore(), FakeClock(NOW)
    uow = MemoryUnitOfWorkFactory(store, InMemoryEventBus())
    async with uow() as u:
        await u.products.add(product(stock=10))
        await u.commit()
    carts = Carts(uow, clock)
    guest, user = Principal("gst_1", Role.GUEST), Principal("usr_1", Role.CUSTOMER)
    await carts.add(guest, "RICE", 3)
    await carts.add(user, "RICE", 2)
    assert await carts.merge(guest, user) == []
    assert [(line.sku, line.quantity) for line in (await carts.get(user)).cart.lines] == [("RICE", 5)]
    assert (await carts.get(guest)).lines == []
    with pytest.raises(InvalidValue):
        await carts.merge(user, guest)  # only a guest's cart is merged
    with pytest.raises(InvalidValue, match="unknown sku"):
        await carts.add(user, "NOPE", 1)
