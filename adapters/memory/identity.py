"""Memory repositories of the identity context: users and their refresh tokens."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from adapters.memory.session import MemorySession
from adapters.memory.table import MemoryTable
from application.errors import AlreadyExists
from domain.sessions import RefreshToken
from domain.users import Role, User


class MemoryUsers(MemoryTable):
    table = "users"

    async def get_by_email(self, email: str) -> User | None:
        email = email.lower()
        return self._find(lambda u: u.email.lower() == email)

    async def add(self, user: User) -> None:
        if await self.get_by_email(user.email):
            raise AlreadyExists("a user with this email exists", field="email")
        self._insert(user.id, user)

    async def admins(self) -> list[User]:
        return sorted(self._find_all(lambda u: u.role is Role.ADMIN), key=lambda u: (u.created_at, u.id))


class MemoryRefreshTokens(MemoryTable):
    table = "refresh_tokens"

    async def add(self, token: RefreshToken) -> None:
        self._insert(token.id, token)

    async def revoke_family(self, family_id: str, at: datetime) -> int:
        live = self._find_all(lambda t: t.family_id == family_id and t.revoked_at is None)
        for token in live:
            token.revoked_at = at
            await self.save(token)
        return len(live)


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {"users": MemoryUsers,
                                                              "refresh_tokens": MemoryRefreshTokens}
