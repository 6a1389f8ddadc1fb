"""Persistence ports of the notifications context."""
from __future__ import annotations

from typing import Protocol

from application.ports.repositories import UnitOfWork
from domain.notifications import Notification


class NotificationRepository(Protocol):
    """Notifications. ``add`` returns False when one for the same ``event_key`` exists (dedup)."""

    async def add(self, notification: Notification) -> bool: ...
    async def add_at_commit(self, notification: Notification) -> None:
        """Insert with the commit (in its round trip where the adapter can); one for the same user and
        event key already there is kept and this one dropped, without an error."""
        ...
    async def get(self, notification_id: str) -> Notification | None: ...
    async def save(self, notification: Notification) -> None: ...


class NotificationsUnitOfWork(UnitOfWork, Protocol):
    """What recording and reading notifications use."""

    notifications: NotificationRepository
