"""One memory unit of work's view of the store: copy-on-read, buffered writes applied at commit.

Below the repositories (they read and write through it) and the unit of work (which opens,
applies and drops it): neither imports the other.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.memory.clone import clone
from adapters.memory.store import MemoryStore
from application.errors import ConcurrencyConflict


class MemorySession:
    """Holds ``store.lock`` while open, so it behaves as a serialisable transaction.

    A row is copied the first time it is read (later reads see the same object) and written back
    by ``apply``; a versioned row read here and changed in the store since is a ConcurrencyConflict
    when it is written."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        #: Aggregates read or written that record events, in the order first seen.
        self.seen: list[Any] = []
        self._writes: dict[tuple[str, str], Any] = {}
        self._loaded_versions: dict[tuple[str, str], int] = {}
        self._ledger: list[Any] = []

    async def open(self) -> None:
        await self.store.lock.acquire()

    async def close(self) -> None:
        self.store.lock.release()

    # -- used by the repositories -------------------------------------------------------------
    def read(self, table: str, key: str) -> Any | None:
        if (table, key) in self._writes:
            return self._writes[(table, key)]
        obj = self.store.tables[table].get(key)
        if obj is None:
            return None
        obj = clone(obj)
        self._writes[(table, key)] = obj  # later reads in this unit of work see the same object
        if hasattr(obj, "version"):
            self._loaded_versions[(table, key)] = obj.version
        self._track(obj)
        return obj

    def keys_where(self, table: str, predicate: Callable[[Any], bool],
                   by: tuple[str, Any] | None = None) -> list[str]:
        """Keys of the rows of ``table`` (as this unit of work sees them) that match ``predicate``.
        Committed rows are looked at in place, never copied; only what is read later is.
        ``by=(field, value)``: only committed rows with that value are looked at (``predicate`` must
        imply it; the field must be one a row never changes), through the store's index."""
        mine = {k: obj for (t, k), obj in self._writes.items() if t == table}
        keys = [k for k, obj in mine.items() if obj is not None and predicate(obj)]
        rows = self.store.tables[table]
        if by is None:
            keys += [k for k, obj in rows.items() if k not in mine and obj is not None and predicate(obj)]
        else:
            keys += [k for k in self.store.keys_with(table, *by)
                     if k not in mine and (obj := rows.get(k)) is not None and predicate(obj)]
        return keys

    def write(self, table: str, key: str, obj: Any, *, new: bool) -> None:
        if not new and hasattr(obj, "version"):
            loaded = self._loaded_versions.get((table, key))
            current = self.store.tables[table].get(key)
            if loaded is not None and current is not None and current.version != loaded:
                raise ConcurrencyConflict(f"{table} {key} was changed by another request")
        self._writes[(table, key)] = obj
        self._track(obj)

    def append_ledger(self, transaction: Any) -> None:
        self._ledger.append(transaction)

    def ledger_rows(self) -> list[Any]:
        """The committed ledger and what this unit of work appended, in order."""
        return self.store.ledger + self._ledger

    def _track(self, obj: Any) -> None:
        if hasattr(obj, "events") and all(obj is not s for s in self.seen):
            self.seen.append(obj)

    # -- used by the unit of work ---------------------------------------------------------------
    def apply(self) -> None:
        """Commit: every buffered write into the store (copied: later changes here stay here)."""
        for (table, key), obj in self._writes.items():
            self.store.put(table, key, clone(obj))
        self.store.ledger.extend(self._ledger)
        self.store.commits += 1
        self._forget()

    async def rollback(self) -> None:
        self._forget()

    async def end_transaction(self) -> None:
        self._forget()  # writes after the commit are never applied

    def _forget(self) -> None:
        self._writes, self._ledger, self._loaded_versions = {}, [], {}
