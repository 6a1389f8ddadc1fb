"""Shipping, tax, coupons and the checkout session that combines them."""
from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalog import Coupon, CouponKind, Product
from domain.checkout import MAX_LINES, SESSION_TTL, CheckoutSession, LineItem
from domain.errors import (
    CouponInvalid,
    CurrencyMismatch,
    InsufficientStock,
    InvalidValue,
    ProductUnavailable,
)
from domain.money import CURRENCY_EXPONENTS, Money
from domain.places import Address
from domain.pricing import ShippingMethod, ShippingRates, TaxRule, TaxRules

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=300)

RATES = ShippingRates(
    rates={
        "NG": {"standard": {"NGN": 150_000}, "express": {"NGN": 350_000}},
        "UG": {"standard": {"UGX": 10_000}},
        "*": {"standard": {"NGN": 500_000, "USD": 2_500}, "express": {"USD": 6_000}},
    },
    free_over={"NGN": 5_000_000, "UGX": 200_000},
)
TAXES = TaxRules(by_country={
    "NG": TaxRule(750),                     # 7.5% exclusive
    "UG": TaxRule(1_800),                   # 18% exclusive
    "GB": TaxRule(2_000, inclusive=True),   # 20% inclusive
    "DE": TaxRule(1_900, inclusive=True),   # 19% inclusive
})


def ngn(amount: int) -> Money:
    return Money(amount, "NGN")


# -- shipping ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("country", "method", "subtotal", "expected"), [
    ("NG", ShippingMethod.STANDARD, ngn(100_000), ngn(150_000)),
    ("ng", ShippingMethod.STANDARD, ngn(100_000), ngn(150_000)),    # country codes are case-blind
    ("NG", ShippingMethod.EXPRESS, ngn(100_000), ngn(350_000)),
    ("GH", ShippingMethod.STANDARD, ngn(100_000), ngn(500_000)),    # no zone of its own -> "*"
    ("US", ShippingMethod.EXPRESS, Money(10, "USD"), Money(6_000, "USD")),
    ("UG", ShippingMethod.STANDARD, Money(199_999, "UGX"), Money(10_000, "UGX")),
])
def test_shipping_quote(country, method, subtotal: Money, expected: Money) -> None:
    assert RATES.quote(country, method, subtotal) == expected


@pytest.mark.parametrize(("subtotal", "free"), [
    (ngn(4_999_999), False), (ngn(5_000_000), True), (ngn(9_000_000), True),
])
def test_standard_shipping_is_free_from_the_threshold(subtotal: Money, free: bool) -> None:
    quote = RATES.quote("NG", ShippingMethod.STANDARD, subtotal)
    assert quote == (ngn(0) if free else ngn(150_000))
    assert RATES.quote("KE", ShippingMethod.STANDARD, subtotal) == (ngn(0) if free else ngn(500_000))


def test_free_shipping_threshold_applies_to_standard_only() -> None:
    assert RATES.quote("NG", ShippingMethod.EXPRESS, ngn(9_000_000)) == ngn(350_000)


def test_free_shipping_threshold_is_per_currency() -> None:
    # no USD threshold: a huge USD basket still pays standard shipping
    assert RATES.quote("US", ShippingMethod.STANDARD, Money(900_000_000, "USD")) == Money(2_500, "USD")
    assert RATES.quote("UG", ShippingMethod.STANDARD, Money(200_000, "UGX")) == Money(0, "UGX")


@pytest.mark.parametrize(("rates", "country", "method", "subtotal"), [
    (RATES, "NG", ShippingMethod.PICKUP, ngn(1_000)),                  # method not offered in zone
    (RATES, "GH", ShippingMethod.EXPRESS, ngn(1_000)),                 # "*" express has no NGN rate
    (RATES, "NG", ShippingMethod.STANDARD, Money(1_000, "USD")),       # zone has no USD rate
    (RATES, "FR", ShippingMethod.STANDARD, Money(1_000, "EUR")),       # "*" has no EUR rate
    (ShippingRates({"NG": {"standard": {"NGN": 1}}}), "GH", ShippingMethod.STANDARD, ngn(1_000)),  # no "*"
])
def test_shipping_not_offered(rates: ShippingRates, country: str, method, subtotal: Money) -> None:
    with pytest.raises(InvalidValue):
        rates.quote(country, method, subtotal)


# -- tax -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("taxable", "country", "tax", "inclusive"), [
    # exclusive, NGN (exponent 2), 7.5%
    (ngn(10_000), "NG", 750, False),
    (ngn(20), "NG", 2, False),         # 1.5   -> 2 (half up)
    (ngn(19), "NG", 1, False),         # 1.425 -> 1
    (ngn(6), "NG", 0, False),          # 0.45  -> 0
    (ngn(100_001), "NG", 7_500, False),  # 7500.075 -> 7500
    # exclusive, UGX (exponent 0), 18%
    (Money(1_000, "UGX"), "UG", 180, False),
    (Money(25, "UGX"), "UG", 5, False),   # 4.5  -> 5 (half up)
    (Money(24, "UGX"), "UG", 4, False),   # 4.32 -> 4
    (Money(1, "UGX"), "ug", 0, False),    # 0.18 -> 0; lower-case country
    # inclusive, 20%: tax contained = gross * 20 / 120
    (Money(12_000, "GBP"), "GB", 2_000, True),
    (Money(3, "GBP"), "GB", 1, True),     # 0.5  -> 1 (half up)
    (Money(9, "GBP"), "GB", 2, True),     # 1.5  -> 2
    (Money(2, "GBP"), "GB", 0, True),     # 0.33 -> 0
    (Money(4, "GBP"), "GB", 1, True),     # 0.67 -> 1
    # inclusive, 19%, EUR
    (Money(11_900, "EUR"), "DE", 1_900, True),
    (Money(100, "EUR"), "DE", 16, True),  # 15.966 -> 16
    # zero and negative taxable amounts, unknown country -> default (0%)
    (ngn(0), "NG", 0, False),
    (ngn(-500), "NG", 0, False),
    (ngn(10_000), "ZZ", 0, False),
])
def test_tax_on(taxable: Money, country: str, tax: int, inclusive: bool) -> None:
    result, is_inclusive = TAXES.tax_on(taxable, country)
    assert result == Money(tax, taxable.currency)
    assert is_inclusive is inclusive


@pytest.mark.parametrize(("gross", "tax"), [(3, 1), (15, 3), (14, 2), (16, 3), (118, 20), (6, 1)])
def test_inclusive_tax_in_a_zero_decimal_currency(gross: int, tax: int) -> None:
    # 20% inclusive in UGX: 3 -> 0.5 -> 1, 15 -> 2.5 -> 3, 14 -> 2.33 -> 2, 16 -> 2.67 -> 3
    rules = TaxRules({"UG": TaxRule(2_000, inclusive=True)})
    assert rules.tax_on(Money(gross, "UGX"), "UG") == (Money(tax, "UGX"), True)


def test_default_rule_applies_to_unlisted_countries() -> None:
    rules = TaxRules({}, default=TaxRule(1_000))
    assert rules.tax_on(Money(105, "UGX"), "XX") == (Money(11, "UGX"), False)  # 10.5 -> 11


@PROPERTY
@given(currency=st.sampled_from(sorted(CURRENCY_EXPONENTS)), amount=st.integers(1, 10**11),
       bps=st.integers(1, 5_000), inclusive=st.booleans())
def test_tax_matches_decimal_half_up(currency: str, amount: int, bps: int, inclusive: bool) -> None:
    rules = TaxRules({"XX": TaxRule(bps, inclusive=inclusive)})
    exact = (Decimal(amount) * bps / (10_000 + bps)) if inclusive else (Decimal(amount) * bps / 10_000)
    expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert rules.tax_on(Money(amount, currency), "XX") == (Money(expected, currency), inclusive)


# -- checkout: starting a session ------------------------------------------------------------------

def product(sku: str = "SKU-1", price: int = 10_000, currency: str = "NGN", stock: int = 100,
            active: bool = True) -> Product:
    return Product(id=f"id-{sku}", sku=sku, name=f"Product {sku}", price=Money(price, currency), stock=stock,
                   category="misc", active=active)


def start(lines, now: datetime = NOW) -> CheckoutSession:
    return CheckoutSession.start("cs1", "u1", lines, now)


def test_start_builds_items_and_ttl() -> None:
    a, b = product("A", 10_000), product("B", 2_500)
    session = start([(a, 2), (b, 1)])
    assert session.items == [LineItem("A", "id-A", "Product A", 10_000, 2),
                             LineItem("B", "id-B", "Product B", 2_500, 1)]
    assert session.currency == "NGN"
    assert session.subtotal == ngn(22_500)
    assert (session.created_at, session.updated_at, session.expires_at) == (NOW, NOW, NOW + timedelta(minutes=30))
    assert SESSION_TTL == timedelta(minutes=30)
    assert (a.stock, b.stock) == (100, 100)  # starting a checkout reserves nothing
    assert session.summary().total == 22_500


def test_start_merges_duplicate_skus() -> None:
    a, b = product("A", 1_000), product("B", 300)
    session = start([(a, 2), (b, 1), (a, 3)])
    assert [(i.sku, i.quantity) for i in session.items] == [("A", 5), ("B", 1)]
    assert session.subtotal == ngn(5_300)


def test_start_rejects_mixed_currencies() -> None:
    with pytest.raises(CurrencyMismatch):
        start([(product("A", currency="NGN"), 1), (product("B", currency="GHS"), 1)])


@pytest.mark.parametrize("quantity", [0, -1, 1_001, 1.0, 2.5, True, "3", None], ids=repr)
def test_start_rejects_quantities_out_of_bounds(quantity) -> None:
    with pytest.raises(InvalidValue):
        start([(product(stock=10_000), quantity)])


@pytest.mark.parametrize("quantity", [1, 1_000])
def test_start_accepts_quantity_bounds(quantity: int) -> None:
    assert start([(product(stock=10_000), quantity)]).items[0].quantity == quantity


def test_start_rejects_merged_quantity_above_the_bound() -> None:
    p = product(stock=10_000)
    with pytest.raises(InvalidValue):
        start([(p, 600), (p, 401)])
    assert start([(p, 600), (p, 400)]).items[0].quantity == 1_000


def test_start_rejects_inactive_product() -> None:
    with pytest.raises(ProductUnavailable):
        start([(product("A"), 1), (product("B", active=False), 1)])


def test_start_rejects_insufficient_stock() -> None:
    with pytest.raises(InsufficientStock) as info:
        start([(product(stock=2), 3)])
    assert info.value.details == {"sku": "SKU-1", "available": 2, "requested": 3}
    assert start([(product(stock=3), 3)]).items[0].quantity == 3


def test_start_checks_stock_against_the_merged_quantity() -> None:
    p = product(stock=5)
    with pytest.raises(InsufficientStock):
        start([(p, 3), (p, 3)])


def test_start_rejects_an_empty_basket() -> None:
    with pytest.raises(InvalidValue):
        start([])


def test_start_rejects_too_many_lines() -> None:
    assert MAX_LINES == 50
    assert len(start([(product(f"S{i}"), 1) for i in range(MAX_LINES)]).items) == MAX_LINES
    with pytest.raises(InvalidValue):
        start([(product(f"S{i}"), 1) for i in range(MAX_LINES + 1)])


# -- coupons -------------------------------------------------------------------------------------

def coupon(kind: CouponKind = CouponKind.PERCENT, value: int = 1_000, **kw) -> Coupon:
    return Coupon(code="SAVE", kind=kind, value=value, **kw)


@pytest.mark.parametrize(("c", "subtotal", "discount"), [
    (coupon(CouponKind.PERCENT, 1_000), ngn(20_000), ngn(2_000)),
    (coupon(CouponKind.PERCENT, 1_000), Money(15, "UGX"), Money(2, "UGX")),   # 1.5 -> 2 half up
    (coupon(CouponKind.PERCENT, 2_500), Money(10, "JPY"), Money(3, "JPY")),   # 2.5 -> 3
    (coupon(CouponKind.FIXED, 500, currency="NGN"), ngn(20_000), ngn(500)),
    (coupon(CouponKind.FIXED, 1_000_000, currency="NGN"), ngn(20_000), ngn(20_000)),  # capped
    (coupon(CouponKind.FIXED, 30_000, currency="NGN"), ngn(20_000), ngn(20_000)),  # above subtotal: capped
    (coupon(CouponKind.PERCENT, 1_000, currency="NGN"), ngn(20_000), ngn(2_000)),
])
def test_coupon_discounts(c: Coupon, subtotal: Money, discount: Money) -> None:
    assert c.discount_for(subtotal, NOW) == discount


@pytest.mark.parametrize(("c", "error"), [
    (coupon(active=False), CouponInvalid),
    (coupon(valid_until=NOW), CouponInvalid),                          # expires at valid_until
    (coupon(valid_until=NOW - timedelta(days=1)), CouponInvalid),
    (coupon(valid_from=NOW + timedelta(seconds=1)), CouponInvalid),    # not yet valid
    (coupon(max_uses=3, uses=3), CouponInvalid),                        # used up
    (coupon(max_uses=0), CouponInvalid),
    (coupon(min_subtotal=20_001), CouponInvalid),
    (coupon(CouponKind.FIXED, 500, currency="USD"), CurrencyMismatch),
    (coupon(CouponKind.PERCENT, 1_000, currency="GHS"), CurrencyMismatch),
])
def test_coupon_refused(c: Coupon, error: type[Exception]) -> None:
    with pytest.raises(error):
        c.discount_for(ngn(20_000), NOW)


@pytest.mark.parametrize("c", [
    coupon(valid_from=NOW),                               # valid from the instant
    coupon(valid_until=NOW + timedelta(microseconds=1)),
    coupon(max_uses=3, uses=2),
    coupon(min_subtotal=20_000),                          # reaching the minimum is enough
], ids=["from", "until", "uses", "min"])
def test_coupon_boundaries_accepted(c: Coupon) -> None:
    assert c.discount_for(ngn(20_000), NOW) == ngn(2_000)


@PROPERTY
@given(kind=st.sampled_from(list(CouponKind)), data=st.data(), subtotal=st.integers(0, 10**11),
       currency=st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_discount_is_never_above_the_subtotal(kind: CouponKind, data: st.DataObject, subtotal: int,
                                              currency: str) -> None:
    top = 10_000 if kind is CouponKind.PERCENT else 10**12   # 100%, or the largest amount
    value = data.draw(st.integers(0, top))
    c = Coupon(code="C", kind=kind, value=value, currency=currency)
    discount = c.discount_for(Money(subtotal, currency), NOW)
    assert discount.currency == currency
    assert 0 <= discount.amount <= subtotal


@pytest.mark.parametrize("kind", list(CouponKind))
def test_negative_coupon_value_is_refused(kind: CouponKind) -> None:
    try:
        discount = Coupon(code="NEG", kind=kind, value=-500, currency="NGN").discount_for(ngn(20_000), NOW)
    except (InvalidValue, CouponInvalid):
        return
    raise AssertionError(f"negative coupon accepted, discount {discount}")


def test_fixed_coupon_without_currency_is_refused() -> None:
    try:
        discount = Coupon(code="ANY", kind=CouponKind.FIXED, value=500).discount_for(Money(10_000, "UGX"), NOW)
    except (InvalidValue, CouponInvalid):
        return
    raise AssertionError(f"currency-less fixed coupon accepted, discount {discount}")


# -- checkout: pricing -----------------------------------------------------------------------------

def session_ngn(subtotal_units: int = 2, unit_price: int = 10_000) -> CheckoutSession:
    return start([(product("A", unit_price), subtotal_units)])


def test_apply_coupon_updates_discount_code_and_ttl() -> None:
    s = session_ngn()
    later = NOW + timedelta(minutes=20)
    s.apply_coupon(coupon(), later, TAXES, RATES)
    assert (s.discount, s.coupon_code) == (2_000, "SAVE")
    assert (s.updated_at, s.expires_at) == (later, later + SESSION_TTL)
    assert s.tax == 0  # no tax country chosen yet: nothing to compute
    assert s.summary().total == 18_000


def test_refused_coupon_leaves_the_session_unchanged() -> None:
    s = session_ngn()
    s.apply_coupon(coupon(CouponKind.FIXED, 500, currency="NGN"), NOW, TAXES, RATES)
    before = copy.deepcopy(s)
    with pytest.raises(CouponInvalid):
        s.apply_coupon(coupon(max_uses=1, uses=1), NOW + timedelta(minutes=5), TAXES, RATES)
    assert s == before


def test_summary_exclusive_tax() -> None:
    s = session_ngn()                                     # subtotal 20_000
    s.apply_coupon(coupon(), NOW, TAXES, RATES)                  # discount 2_000
    s.set_shipping(Address("ng", "Lagos", "1 Marina"), ShippingMethod.STANDARD, RATES, TAXES, NOW)
    summary = s.summary()
    assert s.tax_country == "NG"
    assert (summary.subtotal, summary.discount, summary.shipping, summary.tax) == (20_000, 2_000, 150_000, 1_350)
    assert summary.tax_inclusive is False
    assert summary.total == 20_000 - 2_000 + 150_000 + 1_350
    assert summary.currency == "NGN"


def test_summary_inclusive_tax_is_reported_not_added() -> None:
    s = start([(product("A", 6_000, currency="USD"), 2)])   # 12_000
    s.set_shipping(Address("GB", "London", "1 Strand"), ShippingMethod.STANDARD, RATES, TAXES, NOW)
    summary = s.summary()
    assert (summary.shipping, summary.tax, summary.tax_inclusive) == (2_500, 2_000, True)
    assert summary.total == 12_000 + 2_500


def test_tax_is_recomputed_after_coupon_changes() -> None:
    s = session_ngn()
    s.calculate_tax(TAXES, NOW)                 # home country of NGN: NG, 7.5%
    assert (s.tax_country, s.tax) == ("NG", 1_500)
    s.apply_coupon(coupon(CouponKind.PERCENT, 5_000), NOW, TAXES, RATES)
    assert (s.discount, s.tax) == (10_000, 750)
    s.remove_coupon(NOW, TAXES, RATES)
    assert (s.discount, s.coupon_code, s.tax) == (0, None, 1_500)
    assert s.summary().total == 21_500


def test_tax_in_a_zero_decimal_currency_through_the_session() -> None:
    s = start([(product("A", 25, currency="UGX"), 1)])
    s.calculate_tax(TAXES, NOW)
    assert (s.tax_country, s.tax) == ("UG", 5)  # 4.5 -> 5
    assert s.summary().total == 30


def test_shipping_is_quoted_on_the_discounted_subtotal() -> None:
    s = session_ngn(subtotal_units=6, unit_price=1_000_000)    # 6_000_000, above free_over
    s.apply_coupon(coupon(CouponKind.PERCENT, 5_000), NOW, TAXES, RATES)  # discounted 3_000_000
    s.set_shipping(Address("NG", "Lagos", "1 Marina"), ShippingMethod.STANDARD, RATES, TAXES, NOW)
    assert s.shipping == 150_000


def test_shipping_follows_a_coupon_applied_after_it() -> None:
    s = session_ngn(subtotal_units=6, unit_price=1_000_000)    # 6_000_000, above free_over
    s.set_shipping(Address("NG", "Lagos", "1 Marina"), ShippingMethod.STANDARD, RATES, TAXES, NOW)
    assert s.shipping == 0
    s.apply_coupon(coupon(CouponKind.PERCENT, 5_000), NOW, TAXES, RATES)  # discounted 3_000_000
    assert s.shipping == 150_000


def test_set_shipping_refreshes_ttl_and_unknown_method_changes_nothing() -> None:
    s = session_ngn()
    before = copy.deepcopy(s)
    with pytest.raises(InvalidValue):
        s.set_shipping(Address("NG", "Lagos", "1 Marina"), ShippingMethod.PICKUP, RATES, TAXES, NOW)
    assert s == before
    later = NOW + timedelta(minutes=29)
    s.set_shipping(Address("NG", "Lagos", "1 Marina"), ShippingMethod.EXPRESS, RATES, TAXES, later)
    assert (s.shipping, s.shipping_method, s.expires_at) == (350_000, ShippingMethod.EXPRESS, later + SESSION_TTL)


def test_session_expiry() -> None:
    s = session_ngn()
    assert not s.is_expired(NOW)
    assert not s.is_expired(NOW + SESSION_TTL - timedelta(microseconds=1))
    assert s.is_expired(NOW + SESSION_TTL)
    touched = NOW + timedelta(minutes=25)
    s.touch(touched)
    assert (s.updated_at, s.expires_at, s.created_at) == (touched, touched + SESSION_TTL, NOW)
    assert not s.is_expired(NOW + SESSION_TTL)
    assert s.is_expired(touched + SESSION_TTL)


def test_redeem_counts_one_use_and_refusal_counts_none() -> None:
    c = coupon(max_uses=2)
    assert c.redeem(ngn(20_000), NOW) == ngn(2_000)
    assert c.uses == 1
    assert c.redeem(ngn(20_000), NOW) == ngn(2_000)
    assert c.uses == 2
    with pytest.raises(CouponInvalid):
        c.redeem(ngn(20_000), NOW)                      # used up
    assert c.uses == 2
    with pytest.raises(CouponInvalid):
        coupon(min_subtotal=50_000).redeem(ngn(20_000), NOW)
