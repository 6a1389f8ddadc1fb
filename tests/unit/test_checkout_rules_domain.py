"""Checkout rules in the domain: per-user coupon limits, windows and currencies, zero-decimal rounding,
pickup stations and shipping options, saved addresses, admin product edits."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.demo import load_pricing
from domain.catalog import Coupon, CouponKind, Product
from domain.checkout import CheckoutSession
from domain.delivery import MAX_SAVED_ADDRESSES, SavedAddress
from domain.errors import CouponInvalid, CurrencyMismatch, InvalidValue, UnknownCurrency
from domain.money import Money
from domain.places import Address, Station
from domain.pricing import ShippingMethod, ShippingRates, TaxRule, TaxRules

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RATES, _ = load_pricing(None)
TAXES = TaxRules({"NG": TaxRule(750), "UG": TaxRule(1800)})


def product(sku: str = "RICE", price: int = 1000, currency: str = "NGN", stock: int = 10, active: bool = True):
    return Product(id=f"prd_{sku}", sku=sku, name=sku.title(), price=Money(price, currency), stock=stock,
                   category="groceries", active=active)


# -- coupons: per-user limits, windows, currencies ----------------------------------------------

def test_per_user_limit():
    coupon = Coupon("ONCE", CouponKind.PERCENT, 1000, max_uses_per_user=1)
    assert coupon.discount_for(Money(10_000, "NGN"), NOW, user_uses=0) == Money(1000, "NGN")
    with pytest.raises(CouponInvalid, match="already used"):
        coupon.redeem(Money(10_000, "NGN"), NOW, user_uses=1)
    assert coupon.uses == 0


@pytest.mark.parametrize(("coupon", "error"), [
    (Coupon("OLD", CouponKind.PERCENT, 1000, valid_until=NOW), CouponInvalid),  # expires at valid_until
    (Coupon("SOON", CouponKind.PERCENT, 1000, valid_from=NOW + timedelta(seconds=1)), CouponInvalid),
    (Coupon("FULL", CouponKind.PERCENT, 1000, max_uses=2, uses=2), CouponInvalid),
    (Coupon("BIG", CouponKind.FIXED, 500, currency="NGN", min_subtotal=10_001), CouponInvalid),
    (Coupon("USD5", CouponKind.FIXED, 500, currency="USD"), CurrencyMismatch),
    (Coupon("OFF", CouponKind.PERCENT, 1000, active=False), CouponInvalid),
])
def test_coupon_edges(coupon, error):
    with pytest.raises(error):
        coupon.discount_for(Money(10_000, "NGN"), NOW)


def test_minimum_met_exactly_and_fixed_discount_capped_at_the_subtotal():
    assert Coupon("MIN", CouponKind.FIXED, 500, currency="NGN", min_subtotal=10_000).discount_for(
        Money(10_000, "NGN"), NOW) == Money(500, "NGN")
    assert Coupon("HUGE", CouponKind.FIXED, 50_000, currency="NGN").discount_for(
        Money(10_000, "NGN"), NOW) == Money(10_000, "NGN")


def test_coupon_definitions_are_checked():
    with pytest.raises(UnknownCurrency):
        Coupon("X", CouponKind.FIXED, 1, currency="ABC")
    with pytest.raises(InvalidValue):
        Coupon("X", CouponKind.PERCENT, 1000, valid_from=NOW, valid_until=NOW)


@pytest.mark.parametrize(("price", "discount", "tax"), [
    (12_345, 1_235, 2_000),  # UGX has no minor unit: 1234.5 -> 1235; 18% of 11110 = 1999.8 -> 2000
    (10_005, 1_001, 1_621),  # 1000.5 -> 1001; 18% of 9004 = 1620.72 -> 1621
])
def test_zero_decimal_currency_rounds_to_whole_units(price, discount, tax):
    session = CheckoutSession.start("chk_1", "usr_1", [(product("MATOOKE", price, "UGX"), 1)], NOW)
    session.apply_coupon(Coupon("TEN", CouponKind.PERCENT, 1000), NOW, TAXES, RATES)
    session.calculate_tax(TAXES, NOW)
    summary = session.summary()
    assert (summary.discount, summary.tax) == (discount, tax)
    assert summary.total == price - discount + tax


# -- shipping: stations and options --------------------------------------------------------------

def test_pickup_needs_a_station_and_ships_to_it():
    session = CheckoutSession.start("chk_1", "usr_1", [(product(), 1)], NOW)
    with pytest.raises(InvalidValue, match="station_id"):
        session.set_shipping(None, ShippingMethod.PICKUP, RATES, TAXES, NOW)
    with pytest.raises(InvalidValue, match="no pickup station"):
        session.set_shipping(None, ShippingMethod.PICKUP, RATES, TAXES, NOW, station_id="nowhere")
    with pytest.raises(InvalidValue, match="is in GH"):
        session.set_shipping(Address("NG", "Lagos", "1 Marina"), ShippingMethod.PICKUP, RATES, TAXES, NOW,
                             station_id="gh-acc-kaneshie")
    with pytest.raises(InvalidValue, match="only for pickup"):
        session.set_shipping(Address("NG", "Lagos", "1 Marina"), ShippingMethod.STANDARD, RATES, TAXES, NOW,
                             station_id="ng-lag-ojota")
    assert session.shipping_method is None
    session.set_shipping(None, ShippingMethod.PICKUP, RATES, TAXES, NOW, station_id="ng-lag-ojota")
    assert session.address == Address("NG", "Lagos", "Ojota new motor park") and session.shipping == 50_000
    assert session.station_id == "ng-lag-ojota" and session.tax == 75  # 7.5% of 1000


def test_options_list_methods_with_prices_and_only_offer_pickup_where_there_are_stations():
    ng = {o["method"]: o for o in RATES.options("ng", "NGN")}
    assert ng["standard"]["prices"] == {"NGN": 150_000} and ng["standard"]["free_over"] == {"NGN": 5_000_000}
    assert ng["pickup"]["prices"] == {"NGN": 50_000}
    rates = ShippingRates({"NG": {"pickup": {"NGN": 1}, "standard": {"NGN": 2}}})
    assert [o["method"] for o in rates.options("NG")] == ["standard"]
    assert [o["method"] for o in RATES.options("FR", "USD")] == ["standard", "express"]  # rest of the world


def test_saved_addresses_are_normalised_and_bounded():
    saved = SavedAddress.create("adr_1", "usr_1", Address("ng", "Lagos", "1 Marina"), "home", NOW, 0)
    assert saved.country == "NG" and saved.as_address() == Address("NG", "Lagos", "1 Marina")
    with pytest.raises(InvalidValue):
        SavedAddress.create("adr_2", "usr_1", Address("NG", "Lagos", "x"), None, NOW, MAX_SAVED_ADDRESSES)
    assert Station("s", "Park", "Accra", "GH").as_address().line1 == "Park"


# -- admin product edits -------------------------------------------------------------------------

def test_revise_changes_only_what_is_given_and_bumps_the_version():
    p = product()
    p.revise(price=Money(1500, "NGN"), active=False)
    assert (p.price.amount, p.active, p.stock, p.name, p.version) == (1500, False, 10, "Rice", 1)
    for bad in ({"name": "  "}, {"stock": -1}, {"price": Money(-1, "NGN")}):
        with pytest.raises(InvalidValue):
            p.revise(**bad)
    assert p.version == 1
    assert Product.create("prd_x", "X", "X", Money(1, "UGX"), 3, "books").version == 0
