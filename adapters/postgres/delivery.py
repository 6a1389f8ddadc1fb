"""Postgres repository of the delivery context: saved addresses (migration 0003)."""
from __future__ import annotations

from collections.abc import Callable

from adapters.postgres.mapping import Table
from adapters.postgres.repo_base import Repository
from adapters.postgres.session import PostgresSession
from application.errors import AlreadyExists
from domain.delivery import SavedAddress

ADDRESSES = Table("addresses", SavedAddress, "id",
                  ("id", "owner_id", "country", "city", "line1", "created_at", "postal_code", "label"))


class PostgresAddresses(Repository):
    """Saved addresses of a user."""

    table = ADDRESSES

    async def for_owner(self, owner_id: str) -> list[SavedAddress]:
        return await self._select("t.owner_id = %s", [owner_id], order="t.created_at DESC, t.id DESC")

    async def add(self, address: SavedAddress) -> None:
        if not await self._insert(address):
            raise AlreadyExists(f"addresses {address.id} exists")

    async def delete(self, address_id: str) -> None:
        await self.session.execute("DELETE FROM addresses WHERE id = %s", [address_id])


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"addresses": PostgresAddresses}
#: This context's tables, in foreign-key order.
TABLES = ("addresses",)
