"""Postgres repositories of the identity context: users and their refresh tokens."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs
import orjson

from adapters.postgres.mapping import Table, fields_of
from adapters.postgres.repo_base import Repository
from adapters.postgres.session import PostgresSession
from application.errors import AlreadyExists
from domain.places import Address
from domain.sessions import RefreshToken
from domain.users import Role, User


def _address(value: Any) -> Address | None:
    return Address(**value) if value else None


def _address_json(user: User) -> str | None:
    return orjson.dumps(attrs.asdict(user.default_address)).decode() if user.default_address else None


USERS = Table("users", User, "id", fields_of(User), {"role": Role, "default_address": _address},
              encoders={"default_address": _address_json})
REFRESH_TOKENS = Table("refresh_tokens", RefreshToken, "id", fields_of(RefreshToken))


class PostgresUsers(Repository):
    """Users; emails are unique regardless of case."""

    table = USERS

    async def get_by_email(self, email: str) -> User | None:
        return await self._first("lower(email) = lower(%s)", [email])

    async def add(self, user: User) -> None:
        if not await self._insert(user):
            if await self.get_by_email(user.email):
                raise AlreadyExists("a user with this email exists", field="email")
            raise AlreadyExists(f"users {user.id} exists")

    async def admins(self) -> list[User]:
        return await self._select("t.role = %s", [Role.ADMIN.value], order="t.created_at, t.id")


class PostgresRefreshTokens(Repository):
    """One row per refresh token issued; a family is one login's chain of rotations."""

    table = REFRESH_TOKENS

    async def add(self, token: RefreshToken) -> None:
        if not await self._insert(token):
            raise AlreadyExists(f"refresh token {token.id} exists")

    async def revoke_family(self, family_id: str, at: datetime) -> int:
        return await self.session.execute(
            "UPDATE refresh_tokens SET revoked_at = %s WHERE family_id = %s AND revoked_at IS NULL",
            [at, family_id])


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"users": PostgresUsers,
                                                                "refresh_tokens": PostgresRefreshTokens}
#: This context's tables, in foreign-key order.
TABLES = ("users", "refresh_tokens")
