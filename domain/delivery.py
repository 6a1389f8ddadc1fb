"""Delivery: addresses a user saved, and the pickup stations (bus stops, parks) parcels can wait at."""
from __future__ import annotations

from datetime import datetime

import attrs

from domain.checkout import Address
from domain.errors import InvalidValue

MAX_SAVED_ADDRESSES = 20


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


@attrs.define
class SavedAddress:
    id: str
    owner_id: str
    country: str
    city: str
    line1: str
    created_at: datetime
    postal_code: str | None = None
    label: str | None = None

    @classmethod
    def create(cls, id: str, owner_id: str, address: Address, label: str | None, now: datetime,
               already_saved: int) -> SavedAddress:
        if already_saved >= MAX_SAVED_ADDRESSES:
            raise InvalidValue(f"at most {MAX_SAVED_ADDRESSES} saved addresses; delete one first")
        if len(address.country) != 2 or not address.country.isalpha():
            raise InvalidValue("country is a two-letter ISO code", field="country")
        return cls(id=id, owner_id=owner_id, country=address.country.upper(), city=address.city,
                   line1=address.line1, postal_code=address.postal_code, label=label, created_at=now)

    def as_address(self) -> Address:
        return Address(self.country, self.city, self.line1, self.postal_code)
