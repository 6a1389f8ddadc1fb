"""Postgres repository of the notifications context."""
from __future__ import annotations

from collections.abc import Callable

from adapters.postgres.mapping import Table, fields_of
from adapters.postgres.repo_base import Repository
from adapters.postgres.session import PostgresSession
from application.errors import AlreadyExists
from domain.notifications import Notification

NOTIFICATIONS = Table("notifications", Notification, "id", fields_of(Notification))


class PostgresNotifications(Repository):
    """In-app notifications; (user_id, event_key) is unique when event_key is set."""

    table = NOTIFICATIONS

    async def add(self, notification: Notification) -> bool:
        if await self._insert(notification):
            return True
        if notification.event_key is None or not await self.session.fetch(
                "SELECT 1 FROM notifications WHERE user_id = %s AND event_key = %s",
                [notification.user_id, notification.event_key]):
            raise AlreadyExists(f"notifications {notification.id} exists")
        return False

    async def add_at_commit(self, notification: Notification) -> None:
        self.session.defer(f"{self.table.insert_sql()} ON CONFLICT DO NOTHING", self.table.to_row(notification))


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"notifications": PostgresNotifications}
#: This context's tables, in foreign-key order.
TABLES = ("notifications",)
