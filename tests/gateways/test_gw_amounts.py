"""Property tests: every adapter's amount conversion round-trips exactly, for every currency it
takes, including the zero-decimal ones (UGX, RWF, XOF, XAF, JPY), also through the wire format;
Stripe's special cases (three-decimal, ISK) and Paystack's unconfirmed units are refused or
converted as documented."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

import pytest

from adapters.gateways.base import dumps, loads
from adapters.gateways.config import (PAYSTACK_CONFIRMED_SUBUNITS, FlutterwaveSettings, MomoSettings,
                                      PaystackSettings, StripeSettings)
from adapters.gateways.flutterwave import from_flutterwave_amount, to_flutterwave_amount
from adapters.gateways.mtn_momo import from_momo_amount, to_momo_amount
from adapters.gateways.paystack import from_paystack_amount, to_paystack_amount
from adapters.gateways.stripe import THREE_DECIMAL, from_stripe_amount, to_stripe_amount
from domain.errors import InvalidValue
from domain.money import CURRENCY_EXPONENTS, MAX_AMOUNT

amounts = st.integers(min_value=0, max_value=MAX_AMOUNT)
currencies = st.sampled_from(sorted(CURRENCY_EXPONENTS))
stripe_currencies = st.sampled_from(sorted(set(CURRENCY_EXPONENTS) - THREE_DECIMAL))
paystack_currencies = st.sampled_from(sorted(PAYSTACK_CONFIRMED_SUBUNITS))
unconfirmed_paystack = st.sampled_from(sorted(set(CURRENCY_EXPONENTS) - set(PAYSTACK_CONFIRMED_SUBUNITS)))
ZERO_DECIMAL = ("UGX", "RWF", "XOF", "XAF", "JPY")


def test_every_configured_currency_is_known():
    for settings in (StripeSettings(), PaystackSettings(), FlutterwaveSettings(), MomoSettings()):
        assert settings.currencies <= set(CURRENCY_EXPONENTS)


@given(amounts, stripe_currencies)
def test_stripe_round_trip(amount, currency):
    sent = to_stripe_amount(amount, currency)
    assert type(sent) is int and from_stripe_amount(sent, currency) == amount


@given(st.integers(min_value=0, max_value=MAX_AMOUNT // 10), st.sampled_from(sorted(THREE_DECIMAL)),
       st.integers(min_value=0, max_value=9))
def test_stripe_three_decimal_currencies_take_a_last_digit_of_zero_only(tens, currency, last):
    amount = tens * 10 + last  # thousandths (fils, baisa, millimes)
    if last:
        with pytest.raises(InvalidValue):
            to_stripe_amount(amount, currency)
    else:
        assert to_stripe_amount(amount, currency) == amount and from_stripe_amount(amount, currency) == amount


@given(st.integers(min_value=0, max_value=MAX_AMOUNT // 100))
def test_stripe_isk_is_two_decimal_in_whole_kronur_and_huf_twd_are_two_decimal(kronur):
    assert to_stripe_amount(kronur, "ISK") == kronur * 100  # ISK: zero-decimal in ISO, x100 at Stripe
    assert from_stripe_amount(kronur * 100, "ISK") == kronur
    with pytest.raises(InvalidValue):
        from_stripe_amount(kronur * 100 + 50, "ISK")  # a fraction of a krona is not ours to take
    for currency in ("HUF", "TWD"):  # two-decimal for charges (their rule is about payouts)
        assert to_stripe_amount(kronur, currency) == kronur


@given(amounts, paystack_currencies)
def test_paystack_round_trip(amount, currency):
    sent = to_paystack_amount(amount, currency)
    assert type(sent) is int and from_paystack_amount(sent, currency) == amount
    assert from_paystack_amount(loads(dumps({"a": sent}))["a"], currency) == amount


@given(amounts, unconfirmed_paystack)
def test_paystack_refuses_currencies_whose_unit_is_unconfirmed(amount, currency):
    with pytest.raises(InvalidValue):
        to_paystack_amount(amount, currency)
    factor = max(100, 10 ** CURRENCY_EXPONENTS[currency])
    stated = {currency: factor}  # what an operator states, used as stated
    sent = to_paystack_amount(amount, currency, stated)
    assert sent == int(Decimal(amount).scaleb(-CURRENCY_EXPONENTS[currency]) * factor)
    assert from_paystack_amount(sent, currency, stated) == amount


@given(amounts, currencies)
def test_flutterwave_round_trip_through_json(amount, currency):
    major = to_flutterwave_amount(amount, currency)
    assert major * 10 ** CURRENCY_EXPONENTS[currency] == amount
    wire = dumps({"amount": major})
    assert from_flutterwave_amount(loads(wire)["amount"], currency) == amount


@given(amounts, currencies)
def test_momo_round_trip_through_string(amount, currency):
    text = to_momo_amount(amount, currency)
    assert isinstance(text, str) and from_momo_amount(text, currency) == amount
    assert from_momo_amount(loads(dumps({"amount": text}))["amount"], currency) == amount


@given(st.integers(min_value=0, max_value=MAX_AMOUNT), st.sampled_from(ZERO_DECIMAL))
def test_zero_decimal_currencies_are_whole_units_everywhere(amount, currency):
    assert to_stripe_amount(amount, currency) == amount
    assert to_paystack_amount(amount, currency, {currency: 1}) == amount  # only once stated so
    assert to_flutterwave_amount(amount, currency) == Decimal(amount)
    assert to_momo_amount(amount, currency) == str(amount)


def test_examples():
    assert to_flutterwave_amount(150050, "NGN") == Decimal("1500.50")
    assert dumps({"amount": to_flutterwave_amount(150050, "NGN")}) == b'{"amount":1500.5}'
    assert to_momo_amount(500, "EUR") == "5.00" and from_momo_amount("5", "EUR") == 500
    assert from_flutterwave_amount(Decimal("1500.5"), "NGN") == 150050
