"""The memory store's lookup index answers exactly what a scan of the table answers."""
from __future__ import annotations

import attrs
from adapters.memory.session import MemorySession
from adapters.memory.store import MemoryStore
from adapters.memory.table import DeletableTable


@attrs.define
class Row:
    id: str
    ref: str
    status: str = "open"


class Rows(DeletableTable):
    table = "rows"

    def by_index(self, ref: str) -> list[Row]:
        return self._find_all(lambda r: r.ref == ref, by=("ref", ref))

    def by_scan(self, ref: str) -> list[Row]:
        return self._find_all(lambda r: r.ref == ref)


async def _session(store: MemoryStore) -> tuple[MemorySession, Rows]:
    session = MemorySession(store)
    await session.open()
    return session, Rows(session)


async def _commit(store: MemoryStore, *rows: Row, delete: tuple[str, ...] = ()) -> None:
    session, table = await _session(store)
    for row in rows:
        if session.read("rows", row.id) is None:
            table._insert(row.id, row)
        else:
            await table.save(row)
    for key in delete:
        await table.delete(key)
    session.apply()
    await session.close()


def _ids(rows: list[Row]) -> list[str]:
    return [r.id for r in rows]


async def test_the_index_agrees_with_a_scan_through_inserts_updates_deletes_and_direct_writes() -> None:
    store = MemoryStore()
    await _commit(store, Row("r1", "a"), Row("r2", "b"), Row("r3", "a"))
    session, table = await _session(store)
    assert _ids(table.by_index("a")) == _ids(table.by_scan("a")) == ["r1", "r3"]  # the index is built here
    await session.close()

    await _commit(store, Row("r4", "a"), Row("r1", "a", status="paid"), delete=("r3",))
    session, table = await _session(store)
    assert _ids(table.by_index("a")) == _ids(table.by_scan("a")) == ["r1", "r4"]
    assert table.by_index("a")[0].status == "paid"
    await session.close()

    store.tables["rows"]["r5"] = Row("r5", "a")  # not through put: the index notices the size and rebuilds
    session, table = await _session(store)
    assert _ids(table.by_index("a")) == _ids(table.by_scan("a")) == ["r1", "r4", "r5"]
    assert _ids(table.by_index("missing")) == []
    await session.close()


async def test_a_lookup_sees_the_rows_its_own_unit_of_work_wrote_and_not_what_it_deleted() -> None:
    store = MemoryStore()
    await _commit(store, Row("r1", "a"), Row("r2", "a"))
    session, table = await _session(store)
    table.by_index("a")
    table._insert("r3", Row("r3", "a"))
    await table.delete("r1")
    assert sorted(_ids(table.by_index("a"))) == sorted(_ids(table.by_scan("a"))) == ["r2", "r3"]
    await session.rollback()
    await session.close()
    session, table = await _session(store)
    assert _ids(table.by_index("a")) == ["r1", "r2"]  # rolled back: nothing of it was applied
    await session.close()
