"""Money in integer minor units with its ISO-4217 currency. Never a float."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import attrs

from domain.errors import CurrencyMismatch, InvalidValue, UnknownCurrency

#: Decimal places per supported currency (ISO-4217 minor unit exponent).
CURRENCY_EXPONENTS: dict[str, int] = {
    "NGN": 2, "USD": 2, "GHS": 2, "KES": 2, "ZAR": 2, "EUR": 2, "GBP": 2,
    "UGX": 0, "RWF": 0, "XOF": 0, "XAF": 0, "JPY": 0,
    "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3, "ISK": 0, "HUF": 2, "TWD": 2,
}

#: Upper bound for any single amount (protects arithmetic and gateways' 8-12 digit limits).
MAX_AMOUNT = 10**12


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise UnknownCurrency(f"unsupported currency {currency!r}", currency=currency) from None


def _check_amount(instance: object, attribute: attrs.Attribute, value: object) -> None:
    if type(value) is not int:
        raise InvalidValue("money amounts are integers in minor units", value=repr(value))
    if not -MAX_AMOUNT <= value <= MAX_AMOUNT:
        raise InvalidValue("amount out of range", value=value)


def _check_currency(instance: object, attribute: attrs.Attribute, value: str) -> None:
    exponent(value)


@attrs.frozen
class Money:
    """An amount in minor units (``amount=150000, currency="NGN"`` is NGN 1,500.00)."""

    amount: int = attrs.field(validator=_check_amount)
    currency: str = attrs.field(validator=_check_currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_major(cls, value: Decimal | str | int, currency: str) -> Money:
        """Exact conversion from major units ("15.00" NGN -> 1500). Refuses sub-minor precision."""
        try:
            major = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise InvalidValue(f"{value!r} is not a decimal amount", value=str(value)) from None
        if not major.is_finite():
            raise InvalidValue("amounts must be finite", value=str(value))
        minor = major.scaleb(exponent(currency))
        if minor != minor.to_integral_value():
            raise InvalidValue(f"{value} has more precision than {currency} allows", value=str(value))
        return cls(int(minor), currency)

    def to_major(self) -> Decimal:
        """Exact major-unit value (1500 NGN -> Decimal("15.00"); 500 UGX -> Decimal("500"))."""
        exp = exponent(self.currency)
        return Decimal(self.amount).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("Money only combines with Money")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot combine {self.currency} with {other.currency}",
                expected=self.currency, got=other.currency,
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            raise TypeError("Money multiplies by integers only")
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def percent_bps(self, basis_points: int) -> Money:
        """``basis_points``/10000 of this amount, rounded half-up to the minor unit."""
        numerator = self.amount * basis_points
        q, r = divmod(numerator, 10_000)
        if r * 2 >= 10_000:
            q += 1
        return Money(q, self.currency)

    def is_positive(self) -> bool:
        return self.amount > 0
