"""The shared shape of the Postgres repositories: select through the identity map, insert with
``ON CONFLICT DO NOTHING`` (a duplicate never aborts the transaction), update with a version check."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.postgres.mapping import Table
from adapters.postgres.session import PostgresSession
from application.errors import ConcurrencyConflict


class Repository:
    """Rows of one table seen through a unit of work's PostgresSession."""

    table: Table

    def __init__(self, session: PostgresSession) -> None:
        self.session = session

    def _key(self, obj: Any) -> str:
        return getattr(obj, self.table.key)

    def _param(self, key: str) -> str:
        return key

    async def _select(self, where: str, params: Sequence[Any], *, lock: bool = False,
                      order: str = "", limit: int | None = None) -> list[Any]:
        sql = f"{self.table.select()} WHERE {where}"
        if order:
            sql += f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if lock:
            sql += " FOR UPDATE"
        rows = await self.session.fetch(sql, list(params), plain_read=not lock)
        if not lock:
            return [self.session.load(self.table, row, self._row_key(row)) for row in rows]
        found = []
        for row in rows:
            key = self._row_key(row)
            found.append(self.session.load(self.table, row, key, refresh=True))
            self.session.lock_taken(self.table, key, row.get("version"))
        return found

    def _row_key(self, row: dict[str, Any]) -> str:
        return self._param(row[self.table.key])

    async def _first(self, where: str, params: Sequence[Any], *, lock: bool = False) -> Any | None:
        found = await self._select(where, params, lock=lock)
        return found[0] if found else None

    async def get(self, key: str) -> Any | None:
        key = self._param(key)
        cached = self.session.cached(self.table, key)
        if cached is not None:
            return cached
        return await self._first(self.table.where_key, [key])

    async def lock(self, key: str) -> Any | None:
        """``SELECT ... FOR UPDATE``: the row stays locked until the unit of work ends."""
        return await self._first(self.table.where_key, [self._param(key)], lock=True)

    async def _insert(self, obj: Any) -> bool:
        """Insert ``obj``; False (and nothing written) when a unique key is taken."""
        inserted = await self.session.execute(f"{self.table.insert_sql()} ON CONFLICT DO NOTHING",
                                          self.table.to_row(obj))
        if inserted:
            self.session.adopt(self.table, self._param(self._key(obj)), obj)
        return bool(inserted)

    async def save(self, obj: Any) -> None:
        """Write ``obj`` back. Loaded here: only if the row still has the version it was loaded
        with, else ConcurrencyConflict. Never loaded here: written as is (inserted if missing).
        A row this transaction locked as loaded cannot have changed: its update is deferred (sent
        ahead of the next statement, or with the COMMIT), a round trip fewer, and not sent at all
        when the object is as it was loaded (or last saved)."""
        key = self._param(self._key(obj))
        if self.session.holds_as_loaded(self.table, key):
            row = self.table.to_row(obj)
            if not self.session.as_loaded(self.table, key, row):
                self.session.defer(self.table.update_sql(check_version=False), {**row, "__key": key})
                self.session.adopt(self.table, key, obj)
            return
        loaded = self.session.loaded_version(self.table, key) if self.table.versioned else None
        params = {**self.table.to_row(obj), "__key": key, "__loaded_version": loaded}
        updated = await self.session.execute(self.table.update_sql(check_version=loaded is not None), params)
        if not updated:
            if loaded is not None:
                raise ConcurrencyConflict(f"{self.table.name} {key} was changed by another request")
            if not await self._insert(obj):
                raise ConcurrencyConflict(f"{self.table.name} {key} was changed by another request")
        self.session.adopt(self.table, key, obj)


async def delete_owned(session: PostgresSession, table: str, owner_id: str, version: int | None, what: str) -> None:
    """Delete ``table``'s row of ``owner_id`` (a cart, a wishlist); with ``version``, only that
    version: one changed meanwhile (another tab) is a ConcurrencyConflict, and nothing is deleted."""
    if version is None:
        await session.execute(f"DELETE FROM {table} WHERE owner_id = %s", [owner_id])
    elif not await session.execute(f"DELETE FROM {table} WHERE owner_id = %s AND version = %s", [owner_id, version]):
        raise ConcurrencyConflict(f"the {what} of {owner_id} was changed by another request")
