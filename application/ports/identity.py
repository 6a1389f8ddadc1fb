"""Persistence ports of the identity context: users."""
from __future__ import annotations

from typing import Protocol

from application.ports.repositories import UnitOfWork
from domain.users import User


class UserRepository(Protocol):
    """Users by id and by (case-insensitive) email. ``add`` raises AlreadyExists on a taken email."""

    async def get(self, user_id: str) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def add(self, user: User) -> None: ...


class IdentityUnitOfWork(UnitOfWork, Protocol):
    """What sign-up, sign-in and the admin bootstrap use."""

    users: UserRepository
