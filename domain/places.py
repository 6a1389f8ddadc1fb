"""Places: where a parcel goes (an ``Address``) and where it may wait to be picked up (a ``Station``).

Value objects used by checkout, pricing and delivery alike, so they live below all three.
"""
from __future__ import annotations

import attrs


@attrs.frozen
class Address:
    country: str
    city: str
    line1: str
    postal_code: str | None = None


@attrs.frozen
class Station:
    """A pickup point: ``id`` is unique across countries (e.g. ``ng-lag-ojota``)."""

    id: str
    name: str
    city: str
    country: str
    line1: str = ""

    def as_address(self) -> Address:
        return Address(self.country, self.city, self.line1 or self.name)
