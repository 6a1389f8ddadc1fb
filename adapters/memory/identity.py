"""Memory repositories of the identity context: users."""
from __future__ import annotations

from collections.abc import Callable

from adapters.memory.session import MemorySession
from adapters.memory.table import MemoryTable
from application.errors import AlreadyExists
from domain.users import User


class MemoryUsers(MemoryTable):
    table = "users"

    async def get_by_email(self, email: str) -> User | None:
        email = email.lower()
        return self._find(lambda u: u.email.lower() == email)

    async def add(self, user: User) -> None:
        if await self.get_by_email(user.email):
            raise AlreadyExists("a user with this email exists", field="email")
        self._insert(user.id, user)


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {"users": MemoryUsers}
