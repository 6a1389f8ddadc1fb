"""The in-process tables behind the memory unit of work and read model."""
from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import attrs


@attrs.define
class MemoryStore:
    """Committed state. ``lock`` serialises writing units of work (the memory analogue of row locks).

    A table is there from its first use (``tables["support_tickets"]``): no list of names to extend."""

    tables: defaultdict[str, dict[str, Any]] = attrs.field(factory=lambda: defaultdict(dict))
    ledger: list[Any] = attrs.field(factory=list)
    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    #: Counts committed units of work (tests read it to prove a path wrote nothing).
    commits: int = 0
    #: Lookup indexes, ``(table, field) -> {value: keys}``: built on first use by ``keys_with``, kept by
    #: ``put``. Only for fields a row never changes (ids it refers to, external references): a
    #: lookup checks its predicate on the rows anyway, so an index can only ever miss, never mislead.
    indexes: dict[tuple[str, str], dict[Any, dict[str, None]]] = attrs.field(factory=dict)
    #: The table's size when its index was last known complete: a row added by anything else than
    #: ``put`` (a test writing ``tables`` directly) makes the sizes differ and the index is rebuilt.
    index_sizes: dict[tuple[str, str], int] = attrs.field(factory=dict)

    def keys_with(self, table: str, field: str, value: Any) -> dict[str, None]:
        """Keys of the committed rows of ``table`` whose ``field`` is ``value``, in the table's order
        (the caller checks its predicate on each row)."""
        rows, name = self.tables[table], (table, field)
        index = self.indexes.get(name)
        if index is None or self.index_sizes[name] != len(rows):
            index = {}
            for key, obj in rows.items():
                if obj is not None:
                    index.setdefault(getattr(obj, field), {})[key] = None
            self.indexes[name], self.index_sizes[name] = index, len(rows)
        return index.get(value, {})

    def put(self, table: str, key: str, obj: Any) -> None:
        """Commit one row (``None``: a tombstone), keeping the table's indexes."""
        rows = self.tables[table]
        old = rows.get(key)
        mine = [(name, index) for name, index in self.indexes.items() if name[0] == table]
        complete = [name for name, _ in mine if self.index_sizes[name] == len(rows)]
        rows[key] = obj
        for name, index in mine:
            before = getattr(old, name[1]) if old is not None else None
            after = getattr(obj, name[1]) if obj is not None else None
            if old is not None and obj is not None and before == after:
                continue  # the usual case: the row kept its place
            if old is not None:
                index.get(before, {}).pop(key, None)
            if obj is not None:
                index.setdefault(after, {})[key] = None
        for name in complete:
            self.index_sizes[name] = len(rows)
