"""Delivery: the addresses a user saved (pickup stations are in ``domain.places``)."""
from __future__ import annotations

from datetime import datetime

import attrs

from domain.errors import InvalidValue
from domain.places import Address

MAX_SAVED_ADDRESSES = 20


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
