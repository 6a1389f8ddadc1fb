"""Users and the identity of whoever is calling."""
from __future__ import annotations

import enum
from datetime import datetime

import attrs


class Role(str, enum.Enum):
    CUSTOMER = "customer"
    ADMIN = "admin"
    GUEST = "guest"


@attrs.define
class User:
    id: str
    email: str
    name: str
    password_hash: str
    role: Role
    created_at: datetime


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
