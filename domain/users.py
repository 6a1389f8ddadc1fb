"""Users, their profile, and the identity of whoever is calling."""
from __future__ import annotations

import enum
import re
from datetime import datetime

import attrs

from domain.errors import InvalidValue
from domain.places import Address

MAX_NAME = 200
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")


class Role(str, enum.Enum):
    CUSTOMER = "customer"
    ADMIN = "admin"
    GUEST = "guest"


class Keep(enum.Enum):
    KEEP = "keep"


#: "Leave this field as it is" in a profile change (None clears a field that may be empty).
KEEP = Keep.KEEP


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidValue(f"a name is 1 to {MAX_NAME} characters", field="name")
    return name


def normalise_phone(phone: str) -> str:
    """An international number in E.164 (``+2348031234567``); spaces, dots, dashes and brackets go."""
    compact = _PHONE_SEPARATORS.sub("", phone)
    if not PHONE.match(compact):
        raise InvalidValue("phone is an international number: + country code and 7 to 15 digits", field="phone")
    return compact


def check_address(address: Address) -> Address:
    if len(address.country) != 2 or not address.country.isalpha():
        raise InvalidValue("country is a two-letter ISO code", field="default_address.country")
    if not address.city.strip() or not address.line1.strip():
        raise InvalidValue("an address needs a city and a first line", field="default_address")
    return Address(address.country.upper(), address.city.strip(), address.line1.strip(),
                   (address.postal_code or "").strip() or None)


@attrs.define
class User:
    id: str
    email: str
    name: str
    password_hash: str
    role: Role
    created_at: datetime
    phone: str | None = None
    default_address: Address | None = None
    #: Goes up whenever the tokens issued so far must stop working (password changed, account
    #: disabled, role changed): a token names the generation it was issued in.
    token_generation: int = 0
    #: A disabled account signs in no more, and its tokens stop (within the recheck bound).
    disabled: bool = False

    def revise_profile(self, *, name: str | Keep = KEEP, phone: str | None | Keep = KEEP,
                       default_address: Address | None | Keep = KEEP) -> None:
        """The user's own edit: each field given replaces the current one (None clears phone or address)."""
        new_name = self.name if name is KEEP else check_name(name)
        new_phone = self.phone if phone is KEEP else None if phone is None else normalise_phone(phone)
        new_address = (self.default_address if default_address is KEEP else
                       None if default_address is None else check_address(default_address))
        self.name, self.phone, self.default_address = new_name, new_phone, new_address

    def change_password(self, password_hash: str) -> None:
        """A new password: every token issued before is void."""
        self.password_hash = password_hash
        self.revoke_tokens()

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working."""
        self.token_generation += 1

    def disable(self) -> None:
        self.disabled = True
        self.revoke_tokens()

    def change_role(self, role: Role) -> None:
        """A new role (an admin demoted): tokens naming the old one stop working."""
        if role is not self.role:
            self.role = role
            self.revoke_tokens()

    def rehash(self, password_hash: str) -> None:
        """The same password under the hasher's current parameters (no token is revoked)."""
        self.password_hash = password_hash


@attrs.frozen
class Principal:
    """Who is calling: a user, an admin, or a guest with a guest id."""

    id: str
    role: Role
    email: str | None = None
    name: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_guest(self) -> bool:
        return self.role is Role.GUEST

    def may_see(self, owner_id: str) -> bool:
        """Ownership rule: a caller sees only their own resources; admins see all."""
        return self.id == owner_id or self.role is Role.ADMIN
