"""The exchange-rate table: exact conversion between minor units, rounded once, half to even."""
from __future__ import annotations

from datetime import date

import pytest

from adapters.backoffice_files import load_exchange_rates
from domain.errors import InvalidValue, UnknownCurrency
from domain.exchange import ExchangeRates

RATES = ExchangeRates.from_dict({"date": "2026-01-05", "base": "USD",
                                 "rates": {"NGN": "1500", "UGX": "3700", "EUR": "0.8", "JPY": "150"}})


@pytest.mark.parametrize(("amount", "source", "target", "converted"), [
    (150_000, "NGN", "USD", 100),        # NGN 1,500.00 is USD 1.00
    (150_750, "NGN", "USD", 100),        # USD 1.005 -> 1.00: half to even
    (152_250, "NGN", "USD", 102),        # USD 1.015 -> 1.02: half to even
    (150_900, "NGN", "USD", 101),        # USD 1.006 -> 1.01
    (100, "USD", "NGN", 150_000),
    (1, "USD", "UGX", 37),               # a zero-exponent currency: UGX 37
    (10_000, "EUR", "USD", 12_500),      # EUR 100.00 is USD 125.00
    (999, "JPY", "EUR", 533),            # JPY 999 is EUR 5.328 -> 5.33
    (123, "NGN", "NGN", 123),
])
def test_conversions_are_exact(amount, source, target, converted):
    assert RATES.convert(amount, source, target) == converted


def test_a_currency_without_a_rate_is_named():
    with pytest.raises(UnknownCurrency, match="no rate for GHS"):
        RATES.convert(100, "GHS", "USD")


@pytest.mark.parametrize("data", [
    {"date": "5 Jan", "base": "USD", "rates": {}},
    {"date": "2026-01-05", "base": "USD", "rates": {"NGN": "-1"}},
    {"date": "2026-01-05", "base": "USD", "rates": {"NGN": "lots"}},
    {"date": "2026-01-05", "base": "USD", "rates": {}, "source": "x"},
])
def test_a_table_that_cannot_work_is_refused(data):
    with pytest.raises(InvalidValue):
        ExchangeRates.from_dict(data)


def test_the_table_says_its_date_and_rounding():
    described = RATES.describe()
    assert (described["date"], described["base"], described["rates"]["EUR"]) == ("2026-01-05", "USD", "0.8")
    assert "half-even" in described["rounding"]


def test_the_built_in_table_and_a_configured_one(tmp_path):
    built_in = load_exchange_rates(None)
    assert built_in.base == "USD" and "built-in" in built_in.source and built_in.knows("NGN")
    path = tmp_path / "rates.json"
    path.write_text('{"date": "2026-02-01", "base": "NGN", "rates": {"USD": "0.00065"}}')
    configured = load_exchange_rates(str(path))
    assert (configured.date, configured.base, configured.source) == (date(2026, 2, 1), "NGN", "rates.json")
    path.write_text('{"date": "2026-02-01", "base": "NGN", "rates": {"USD": "0"}}')
    with pytest.raises(ValueError, match="PAYPORT_EXCHANGE_RATES_FILE=.*must be positive"):
        load_exchange_rates(str(path))
