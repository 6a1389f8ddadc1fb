"""Persistence ports of the identity context: users."""
from __future__ import annotations

from typing import Protocol

from application.ports.repositories import UnitOfWork
from domain.users import User


class UserRepository(Protocol):
    """Users by id and by (case-insensitive) email. ``add`` raises AlreadyExists on a taken email;
    ``lock`` holds the row until the unit of work ends (a profile or password change)."""

    async def get(self, user_id: str) -> User | None: ...
    async def lock(self, user_id: str) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def add(self, user: User) -> None: ...
    async def save(self, user: User) -> None: ...


class IdentityUnitOfWork(UnitOfWork, Protocol):
    """What sign-up, sign-in, profiles and the admin bootstrap use."""

    users: UserRepository
