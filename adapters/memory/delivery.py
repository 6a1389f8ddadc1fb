"""Memory repository of the delivery context: saved addresses."""
from __future__ import annotations

from collections.abc import Callable

from adapters.memory.session import MemorySession
from adapters.memory.table import DeletableTable
from domain.delivery import SavedAddress


class MemoryAddresses(DeletableTable):
    table = "addresses"

    async def for_owner(self, owner_id: str) -> list[SavedAddress]:
        rows = self._find_all(lambda a: a.owner_id == owner_id)
        return sorted(rows, key=lambda a: (a.created_at, a.id), reverse=True)

    async def add(self, address: SavedAddress) -> None:
        self._insert(address.id, address)


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {"addresses": MemoryAddresses}
