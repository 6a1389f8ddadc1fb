"""Postgres repositories of the identity context: users."""
from __future__ import annotations

from collections.abc import Callable

from adapters.postgres.mapping import Table, fields_of
from adapters.postgres.repo_base import Repository
from adapters.postgres.session import PostgresSession
from application.errors import AlreadyExists
from domain.users import Role, User

USERS = Table("users", User, "id", fields_of(User), {"role": Role})


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


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"users": PostgresUsers}
#: This context's tables, in foreign-key order.
TABLES = ("users",)
