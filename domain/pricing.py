"""Shipping and tax rules: data plus the calculations over it (configurable, loaded by adapters)."""
from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from domain.errors import InvalidValue
from domain.money import Money
from domain.places import Station


class ShippingMethod(str, enum.Enum):
    STANDARD = "standard"
    EXPRESS = "express"
    PICKUP = "pickup"


#: Default country to tax in when the checkout has no address yet.
HOME_COUNTRY_OF_CURRENCY = {"NGN": "NG", "GHS": "GH", "KES": "KE", "USD": "US", "EUR": "DE", "GBP": "GB",
                            "ZAR": "ZA", "UGX": "UG", "RWF": "RW", "XOF": "SN", "XAF": "CM", "JPY": "JP"}


@attrs.frozen
class ShippingRates:
    """``rates[zone][method][currency]`` in minor units; zone is a country code or ``"*"`` (rest of world).

    ``free_over[currency]``: standard shipping is free when the discounted subtotal reaches it.
    """

    rates: Mapping[str, Mapping[str, Mapping[str, int]]]
    free_over: Mapping[str, int] = attrs.field(factory=dict)
    #: Pickup stations by country code (``Station`` objects); pickup needs one of them.
    stations: Mapping[str, tuple[Station, ...]] = attrs.field(factory=dict)

    def station(self, station_id: str) -> Station:
        """The station with this id, or InvalidValue."""
        for stations in self.stations.values():
            for station in stations:
                if station.id == station_id:
                    return station
        raise InvalidValue(f"no pickup station {station_id!r}", field="station_id")

    def options(self, country: str, currency: str | None = None) -> list[dict]:
        """What ships to ``country``: each method with its prices (minor units) per currency."""
        zone = self.rates.get(country.upper()) or self.rates.get("*") or {}
        found = []
        for method in ShippingMethod:
            prices = dict(zone.get(method.value, {}))
            if currency is not None:
                prices = {c: a for c, a in prices.items() if c == currency}
            if not prices or (method is ShippingMethod.PICKUP and not self.stations.get(country.upper())):
                continue
            free = {c: a for c, a in self.free_over.items() if c in prices} if method is ShippingMethod.STANDARD else {}
            found.append({"method": method.value, "prices": prices, "free_over": free})
        return found

    def quote(self, country: str, method: ShippingMethod, subtotal: Money) -> Money:
        zone = self.rates.get(country.upper()) or self.rates.get("*")
        if zone is None or method.value not in zone:
            raise InvalidValue(f"{method.value} shipping is not offered to {country}", country=country)
        by_currency = zone[method.value]
        if subtotal.currency not in by_currency:
            raise InvalidValue(f"no {method.value} rate to {country} in {subtotal.currency}", country=country)
        threshold = self.free_over.get(subtotal.currency)
        if method is ShippingMethod.STANDARD and threshold is not None and subtotal.amount >= threshold:
            return Money.zero(subtotal.currency)
        return Money(by_currency[subtotal.currency], subtotal.currency)


@attrs.frozen
class TaxRule:
    """``rate_bps``: 750 = 7.5%. Inclusive prices already contain the tax (it is reported, not added)."""

    rate_bps: int
    inclusive: bool = False
    name: str = "VAT"


@attrs.frozen
class TaxRules:
    by_country: Mapping[str, TaxRule]
    default: TaxRule = TaxRule(0)

    def rule_for(self, country: str) -> TaxRule:
        return self.by_country.get(country.upper(), self.default)

    def tax_on(self, taxable: Money, country: str) -> tuple[Money, bool]:
        """Tax on ``taxable`` rounded half-up to the currency's minor unit; returns (tax, inclusive).

        Exclusive: tax = taxable * rate. Inclusive: the tax contained in ``taxable``,
        taxable * rate / (1 + rate).
        """
        rule = self.rule_for(country)
        if taxable.amount <= 0 or rule.rate_bps == 0:
            return Money.zero(taxable.currency), rule.inclusive
        if not rule.inclusive:
            return taxable.percent_bps(rule.rate_bps), False
        numerator = taxable.amount * rule.rate_bps
        denominator = 10_000 + rule.rate_bps
        q, r = divmod(numerator, denominator)
        if r * 2 >= denominator:
            q += 1
        return Money(q, taxable.currency), True
