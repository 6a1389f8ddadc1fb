"""The shared shape of the memory repositories: rows of one table seen through a MemorySession,
enforcing the same constraints as Postgres."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.memory.session import MemorySession
from application.errors import AlreadyExists


class MemoryTable:
    """A repository over the store table named ``table``, keyed by ``_key(obj)`` (the id)."""

    table: str

    def __init__(self, session: MemorySession) -> None:
        self.session = session

    async def get(self, key: str) -> Any | None:
        return self.session.read(self.table, key)

    async def lock(self, key: str) -> Any | None:
        return self.session.read(self.table, key)  # the session already holds the store lock

    def _find(self, predicate: Callable[[Any], bool], by: tuple[str, Any] | None = None) -> Any | None:
        return next(iter(self._find_all(predicate, by)), None)

    def _find_all(self, predicate: Callable[[Any], bool], by: tuple[str, Any] | None = None) -> list[Any]:
        """Matching rows as this unit of work sees them; only the matches are copied. ``by``: see
        ``MemorySession.keys_where``."""
        return [self.session.read(self.table, key) for key in self.session.keys_where(self.table, predicate, by)]

    def _insert(self, key: str, obj: Any) -> None:
        if self.session.read(self.table, key) is not None:
            raise AlreadyExists(f"{self.table} {key} exists")
        self.session.write(self.table, key, obj, new=True)

    async def save(self, obj: Any) -> None:
        self.session.write(self.table, self._key(obj), obj, new=False)

    def _key(self, obj: Any) -> str:
        return obj.id


class DeletableTable(MemoryTable):
    """A table whose rows the contract lets a use case delete."""

    async def delete(self, key: str) -> None:
        if self.session.read(self.table, key) is not None:
            self.session.write(self.table, key, None, new=True)  # a tombstone: reads see nothing
