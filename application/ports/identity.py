"""Persistence ports of the identity context: users and their refresh tokens."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from application.ports.repositories import UnitOfWork
from domain.sessions import RefreshToken
from domain.users import User


class UserRepository(Protocol):
    """Users by id and by (case-insensitive) email. ``add`` raises AlreadyExists on a taken email;
    ``lock`` holds the row until the unit of work ends (a profile or password change)."""

    async def get(self, user_id: str) -> User | None: ...
    async def lock(self, user_id: str) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def add(self, user: User) -> None: ...
    async def save(self, user: User) -> None: ...
    async def admins(self) -> list[User]:
        """Every administrator, oldest first (whom an operational alert goes to)."""
        ...


class RefreshTokenRepository(Protocol):
    """Refresh tokens by id (their ``jti``). ``lock`` holds the row until the unit of work ends
    (one refresh at a time per token); ``revoke_family`` ends every token of a login."""

    async def add(self, token: RefreshToken) -> None: ...
    async def lock(self, token_id: str) -> RefreshToken | None: ...
    async def save(self, token: RefreshToken) -> None: ...
    async def revoke_family(self, family_id: str, at: datetime) -> int: ...


class IdentityUnitOfWork(UnitOfWork, Protocol):
    """What sign-up, sign-in, profiles and the admin bootstrap use."""

    users: UserRepository
    refresh_tokens: RefreshTokenRepository
