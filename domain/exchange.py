"""A table of exchange rates, and exact conversion between currencies' minor units.

``rates[c]`` is how many units (major) of ``c`` one unit of ``base`` buys, as a decimal string
(``{"base": "USD", "rates": {"NGN": "1550.25"}}``): converting ``amount`` minor units of ``a`` to
``b`` is ``amount / 10**exp(a) / rates[a] * rates[b] * 10**exp(b)`` computed exactly (fractions,
never floats) and rounded once, half to even, to a whole minor unit of ``b``.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import attrs

from domain.errors import InvalidValue, UnknownCurrency
from domain.money import exponent

ROUNDING = "half-even, once per converted figure, to the target currency's minor unit"


@attrs.frozen
class ExchangeRates:
    base: str
    date: date
    rates: Mapping[str, Fraction]
    source: str = "configured"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "configured") -> ExchangeRates:
        """From ``{"date": "YYYY-MM-DD", "base": "USD", "rates": {"NGN": "1550.25", ...}}``; the base
        itself is 1. InvalidValue names what is wrong."""
        if not isinstance(data, Mapping) or set(data) - {"date", "base", "rates"}:
            raise InvalidValue("exchange rates are {date, base, rates}", field="rates")
        try:
            on = date.fromisoformat(str(data.get("date")))
        except ValueError:
            raise InvalidValue("the exchange rates' date is YYYY-MM-DD", field="date") from None
        base = str(data.get("base", "")).upper()
        exponent(base)
        rates: dict[str, Fraction] = {base: Fraction(1)}
        for currency, rate in (data.get("rates") or {}).items():
            currency = currency.upper()
            exponent(currency)
            try:
                value = Decimal(str(rate))
            except InvalidOperation:
                raise InvalidValue(f"the rate of {currency} is not a decimal number", field=currency) from None
            if not value.is_finite() or value <= 0:
                raise InvalidValue(f"the rate of {currency} must be positive", field=currency)
            rates[currency] = Fraction(value)
        return cls(base, on, rates, source)

    def knows(self, currency: str) -> bool:
        return currency in self.rates

    def convert(self, amount: int, source: str, target: str) -> int:
        """``amount`` minor units of ``source`` in minor units of ``target`` (see the module)."""
        if source == target:
            return amount
        for currency in (source, target):
            if currency not in self.rates:
                raise UnknownCurrency(f"the exchange rates of {self.date} have no rate for {currency}",
                                      currency=currency)
        exact = (Fraction(amount, 10 ** exponent(source)) / self.rates[source] * self.rates[target]
                 * 10 ** exponent(target))
        return round(exact)  # a Fraction rounds half to even, exactly

    def describe(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "base": self.base, "source": self.source, "rounding": ROUNDING,
                "rates": {c: str(Decimal(r.numerator) / Decimal(r.denominator)) for c, r in sorted(self.rates.items())}}
