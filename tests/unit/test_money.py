"""Money: integer minor units with a currency, exact conversions, half-up percentages."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import CurrencyMismatch, DomainError, InvalidValue, UnknownCurrency
from domain.money import CURRENCY_EXPONENTS, MAX_AMOUNT, Money, exponent

PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=300)
CURRENCIES = sorted(CURRENCY_EXPONENTS)
amounts = st.integers(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT)


def test_currency_exponents_are_the_designed_ones() -> None:
    assert CURRENCY_EXPONENTS == {
        "NGN": 2, "USD": 2, "GHS": 2, "KES": 2, "ZAR": 2, "EUR": 2, "GBP": 2,
        "UGX": 0, "RWF": 0, "XOF": 0, "XAF": 0, "JPY": 0,
        "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3, "ISK": 0, "HUF": 2, "TWD": 2,
    }


# -- construction --------------------------------------------------------------------------------

@pytest.mark.parametrize("amount", [0, 1, -1, 150_000, MAX_AMOUNT, -MAX_AMOUNT])
def test_integer_amounts_are_kept_exactly(amount: int) -> None:
    money = Money(amount, "NGN")
    assert (money.amount, money.currency) == (amount, "NGN")
    assert type(money.amount) is int


@pytest.mark.parametrize("amount", [
    1.0, 1.5, 0.0, float("nan"), float("inf"),   # floats, even whole ones
    True, False,                                  # bools are ints to Python, not to money
    "100", "1.00", b"1",                          # strings and bytes
    Decimal("100"), Decimal("1.5"),               # Decimals belong to from_major
    None, [100],
], ids=repr)
def test_non_integer_amounts_are_rejected(amount: object) -> None:
    with pytest.raises(InvalidValue):
        Money(amount, "NGN")  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [MAX_AMOUNT + 1, -MAX_AMOUNT - 1, 10**30])
def test_amounts_out_of_range_are_rejected(amount: int) -> None:
    with pytest.raises(InvalidValue):
        Money(amount, "NGN")


@pytest.mark.parametrize("currency", ["XYZ", "ngn", "", "NGN ", "BTC", "US"])
def test_unknown_currency_is_rejected(currency: str) -> None:
    with pytest.raises(UnknownCurrency) as info:
        Money(100, currency)
    assert info.value.details == {"currency": currency}
    with pytest.raises(UnknownCurrency):
        exponent(currency)


def test_money_is_immutable_and_compares_by_value() -> None:
    money = Money(100, "NGN")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        money.amount = 5  # type: ignore[misc]
    assert money == Money(100, "NGN")
    assert money != Money(100, "GHS")
    assert money != Money(101, "NGN")
    assert Money.zero("UGX") == Money(0, "UGX")
    assert not Money.zero("UGX").is_positive()
    assert Money(1, "UGX").is_positive()
    assert not Money(-1, "UGX").is_positive()


# -- arithmetic ----------------------------------------------------------------------------------

def test_arithmetic_within_one_currency() -> None:
    a, b = Money(1_500, "KES"), Money(250, "KES")
    assert a + b == Money(1_750, "KES")
    assert a - b == Money(1_250, "KES")
    assert b - a == Money(-1_250, "KES")
    assert a * 3 == Money(4_500, "KES")
    assert b < a and b <= a and a <= a and not a < a
    assert a > b and a >= b  # via the reflected operators


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a < b,
    lambda a, b: a <= b, lambda a, b: a > b, lambda a, b: a >= b,
], ids=["add", "sub", "lt", "le", "gt", "ge"])
def test_mixing_currencies_raises(op) -> None:
    with pytest.raises(CurrencyMismatch) as info:
        op(Money(100, "NGN"), Money(100, "GHS"))
    assert isinstance(info.value, DomainError)
    assert info.value.code == "currency_mismatch"


@pytest.mark.parametrize("other", [100, 1.0, Decimal(1), None])
def test_money_only_combines_with_money(other: object) -> None:
    with pytest.raises(TypeError):
        Money(100, "NGN") + other  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(100, "NGN") - other  # type: ignore[operator]


@pytest.mark.parametrize("factor", [1.5, 2.0, True, Decimal(2), "2"], ids=repr)
def test_money_multiplies_by_integers_only(factor: object) -> None:
    with pytest.raises(TypeError):
        Money(100, "NGN") * factor  # type: ignore[operator]


def test_arithmetic_cannot_escape_the_range() -> None:
    with pytest.raises(InvalidValue):
        Money(MAX_AMOUNT, "NGN") + Money(1, "NGN")
    with pytest.raises(InvalidValue):
        Money(MAX_AMOUNT, "NGN") * 2


# -- major units ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "currency", "minor"), [
    ("15.00", "NGN", 1_500), ("15", "NGN", 1_500), ("0.01", "USD", 1), ("1500.5", "GHS", 150_050),
    ("-2.50", "EUR", -250), (Decimal("9.99"), "GBP", 999), (7, "KES", 700),
    ("500", "UGX", 500), ("500.0", "UGX", 500), (1_000_000, "XOF", 1_000_000), ("0", "JPY", 0),
])
def test_from_major_examples(value, currency: str, minor: int) -> None:
    assert Money.from_major(value, currency) == Money(minor, currency)


@pytest.mark.parametrize(("minor", "currency", "text"), [
    (1_500, "NGN", "15.00"), (1, "USD", "0.01"), (-250, "EUR", "-2.50"), (0, "KES", "0.00"),
    (500, "UGX", "500"), (0, "RWF", "0"),
])
def test_to_major_examples(minor: int, currency: str, text: str) -> None:
    major = Money(minor, currency).to_major()
    assert isinstance(major, Decimal)
    assert str(major) == text


@pytest.mark.parametrize(("value", "currency"), [
    ("1.5", "UGX"), ("0.1", "RWF"), ("1.005", "NGN"), ("0.001", "USD"), ("12.345", "GBP"),
    ("1.50", "JPY"), (Decimal("0.5"), "XAF"),
])
def test_sub_minor_precision_is_rejected(value, currency: str) -> None:
    with pytest.raises(InvalidValue):
        Money.from_major(value, currency)


def test_from_major_rejects_nan() -> None:
    with pytest.raises(InvalidValue):
        Money.from_major("NaN", "NGN")


def test_from_major_rejects_unknown_currency() -> None:
    with pytest.raises(UnknownCurrency):
        Money.from_major("1.00", "XYZ")


def test_from_major_rejects_amounts_out_of_range() -> None:
    with pytest.raises(InvalidValue):
        Money.from_major(Decimal(MAX_AMOUNT) + 1, "UGX")


@pytest.mark.parametrize("value", ["abc", "", "1,000.00", "Infinity", "-Infinity", "sNaN"])
def test_from_major_rejects_malformed_input_with_a_domain_error(value: str) -> None:
    try:
        Money.from_major(value, "NGN")
    except InvalidValue:
        return
    except Exception as exc:  # noqa: BLE001 - the point is which error escapes
        raise AssertionError(f"{value!r} raised {type(exc).__name__}, not InvalidValue") from exc
    raise AssertionError(f"{value!r} was accepted")


@PROPERTY
@given(currency=st.sampled_from(CURRENCIES), amount=amounts)
def test_minor_to_major_and_back_is_exact(currency: str, amount: int) -> None:
    money = Money(amount, currency)
    major = money.to_major()
    exp = CURRENCY_EXPONENTS[currency]
    assert major.as_tuple().exponent == -exp             # always exactly `exp` decimal places
    assert major == Decimal(amount) / (10 ** exp)
    assert Money.from_major(major, currency) == money
    assert Money.from_major(str(major), currency) == money


@PROPERTY
@given(currency=st.sampled_from(CURRENCIES), data=st.data())
def test_major_to_minor_and_back_is_exact(currency: str, data: st.DataObject) -> None:
    exp = CURRENCY_EXPONENTS[currency]
    whole = data.draw(st.integers(min_value=0, max_value=(MAX_AMOUNT - (10**exp - 1)) // 10**exp))  # in range
    frac = data.draw(st.integers(min_value=0, max_value=10**exp - 1))
    sign = data.draw(st.sampled_from(["", "-"]))
    text = f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"
    money = Money.from_major(text, currency)
    assert money.amount == int(Decimal(text) * 10**exp)
    assert money.to_major() == Decimal(text)


@PROPERTY
@given(currency=st.sampled_from(CURRENCIES), amount=amounts, extra=st.integers(min_value=1, max_value=9))
def test_one_more_digit_than_the_currency_allows_is_rejected(currency: str, amount: int, extra: int) -> None:
    exp = CURRENCY_EXPONENTS[currency]
    major = Money(amount, currency).to_major()
    finer = major + Decimal(extra).scaleb(-(exp + 1))   # a non-zero digit below the minor unit
    with pytest.raises(InvalidValue):
        Money.from_major(finer, currency)


# -- percentages ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("amount", "currency", "bps", "expected"), [
    (10_000, "NGN", 750, 750),        # exact
    (20, "NGN", 750, 2),              # 1.5 -> 2 (half up)
    (19, "NGN", 750, 1),              # 1.425 -> 1
    (1, "NGN", 5_000, 1),             # 0.5 -> 1
    (1, "NGN", 4_999, 0),             # 0.4999 -> 0
    (1_234_567, "NGN", 750, 92_593),  # 92592.525 -> 92593
    (15, "UGX", 1_000, 2),            # 1.5 -> 2
    (25, "UGX", 1_000, 3),            # 2.5 -> 3 (half up, not to even)
    (14, "UGX", 1_000, 1),            # 1.4 -> 1
    (999, "RWF", 1_800, 180),         # 179.82 -> 180
    (5, "JPY", 1_000, 1),             # 0.5 -> 1
    (4, "JPY", 1_000, 0),             # 0.4 -> 0
    (12_345, "USD", 0, 0),
    (12_345, "USD", 10_000, 12_345),
])
def test_percent_bps_rounds_half_up(amount: int, currency: str, bps: int, expected: int) -> None:
    assert Money(amount, currency).percent_bps(bps) == Money(expected, currency)


@PROPERTY
@given(currency=st.sampled_from(CURRENCIES), amount=st.integers(min_value=0, max_value=MAX_AMOUNT // 2),
       bps=st.integers(min_value=0, max_value=20_000))
def test_percent_bps_matches_decimal_half_up(currency: str, amount: int, bps: int) -> None:
    exact = Decimal(amount) * bps / 10_000
    expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    result = Money(amount, currency).percent_bps(bps)
    assert result == Money(expected, currency)
    assert abs(Decimal(result.amount) - exact) <= Decimal("0.5")
