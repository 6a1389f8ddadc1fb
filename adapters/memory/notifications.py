"""Memory repository of the notifications context."""
from __future__ import annotations

from collections.abc import Callable

from adapters.memory.session import MemorySession
from adapters.memory.table import MemoryTable
from domain.notifications import Notification


class MemoryNotifications(MemoryTable):
    table = "notifications"

    async def add(self, notification: Notification) -> bool:
        key = notification.event_key
        if key and self._find(lambda n: n.event_key == key and n.user_id == notification.user_id,
                                 by=("event_key", key)):
            return False
        self._insert(notification.id, notification)
        return True

    async def add_at_commit(self, notification: Notification) -> None:
        await self.add(notification)  # writes are applied at commit here anyway


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {"notifications": MemoryNotifications}
