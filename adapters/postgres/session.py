"""One Postgres unit of work's connection: statements, prepared statements, deferred writes, the
identity map and optimistic version checks.

Below the repositories (they run their SQL and load their objects through it) and the unit of work
(which opens, commits and closes it): neither imports the other.
"""
from __future__ import annotations

import logging
from typing import Any

import aiopg
import attrs
import psycopg2.errors

from adapters.postgres import db, prepared
from adapters.postgres.mapping import Table
from application.errors import ConcurrencyConflict

log = logging.getLogger(__name__)


class PostgresSession:
    """One explicit transaction on one pooled connection (aiopg is autocommit: BEGIN/COMMIT are
    issued here).

    ``BEGIN`` is sent with the first statement that writes or locks (plain reads before it need
    none). Objects are loaded once per unit of work (later reads return the same object); the
    repositories' ``save`` updates ``WHERE version = loaded_version(...)``.
    """

    def __init__(self, pool: aiopg.Pool, prepare: bool = True) -> None:
        self.pool = pool
        self.prepare = prepare
        #: Aggregates loaded or added that record events, in the order first seen.
        self.seen: list[Any] = []
        self._deferred: list[tuple[str, Any]] = []
        self._conn: aiopg.Connection | None = None
        self._cur: aiopg.Cursor | None = None
        self._identity: dict[tuple[str, str], Any] = {}
        self._snapshots: dict[tuple[str, str], dict] = {}
        self._versions: dict[tuple[str, str], int] = {}
        #: Rows this transaction holds locked, as loaded (so no version check of theirs can fail).
        self._locked: set[tuple[str, str]] = set()

    async def open(self) -> None:
        conn = await db.acquire(self.pool)
        try:
            self._cur = await conn.cursor()
        except BaseException as exc:
            # the connection died between the pool and here (Postgres cut it): its place in the
            # pool is given back, or every such death would keep one until the process restarts
            await db.release(self.pool, conn)
            mapped = db.translate(exc) if isinstance(exc, Exception) else None
            if mapped is not None:
                raise mapped from exc
            raise
        self._conn = conn

    async def close(self) -> None:
        conn, self._conn, cur, self._cur = self._conn, None, self._cur, None
        if cur is not None:
            cur.close()
        if conn is not None:
            await db.release(self.pool, conn)

    # -- statements (used by the repositories) --------------------------------------------------
    async def execute(self, sql: str, params: Any = None, *, plain_read: bool = False) -> int:
        """Run ``sql`` inside this unit of work's transaction; return the affected row count.

        ``plain_read``: a SELECT that takes no lock. Until the first write or lock it runs on its
        own, with no BEGIN: at READ COMMITTED every statement sees its own snapshot anyway, so
        nothing changes but the round trips (a unit of work that only reads sends no BEGIN and
        no ROLLBACK).

        A statement with parameters is prepared on this connection the first time it is seen there,
        and sent as ``EXECUTE`` (see ``adapters/postgres/prepared.py``)."""
        idle = self._usable_status() == db.IDLE
        text = await self._render(sql, params)
        if self._deferred:  # the writes held back run first, in this statement's round trip
            text = "; ".join([*await self._take_deferred(), text])
            plain_read = False
        await self._send(text, begin=idle and not plain_read)
        assert self._cur is not None
        return self._cur.rowcount  # the last statement's

    def defer(self, sql: str, params: Any = None) -> None:
        """A write nobody waits on the outcome of: sent, in order, ahead of the next statement in
        its round trip, or with the COMMIT in its; dropped if the unit of work rolls back. An
        error it raises is raised by that statement (or the commit), mapped as any other."""
        self._deferred.append((sql, params))

    async def _take_deferred(self) -> list[str]:
        deferred, self._deferred = self._deferred, []
        return [await self._render(s, p) for s, p in deferred]

    def lock_taken(self, table: Table, key: str, row_version: int | None) -> None:
        """``key``'s row was just locked by this transaction; ``row_version``: the version it has
        there. Held as loaded when the object this unit of work has for it has that version."""
        if not table.versioned or self._versions.get((table.name, key)) == row_version:
            self._locked.add((table.name, key))

    def as_loaded(self, table: Table, key: str, row: dict[str, Any]) -> bool:
        """True when ``row`` is what was loaded (or last written) for ``key``: nothing to write."""
        return self._snapshots.get((table.name, key)) == row

    def holds_as_loaded(self, table: Table, key: str) -> bool:
        """True when this transaction holds ``key``'s row locked and the object for it was loaded
        from the row as it is locked: nobody can change the row before the commit, so an update of
        it cannot miss its version."""
        return (table.name, key) in self._locked

    def _usable_status(self) -> int:
        if self._cur is None or self._conn is None:
            raise RuntimeError("use the unit of work inside 'async with'")
        if self._conn.closed:
            raise db.unavailable()
        status = self._conn.raw.get_transaction_status()
        if status == db.IN_ERROR:
            raise db.TransactionAborted("an earlier statement failed; this transaction is rolled back")
        return status

    async def _render(self, sql: str, params: Any) -> str:
        """``sql`` with its parameters in place: ``EXECUTE`` of a prepared statement, else quoted text."""
        assert self._cur is not None and self._conn is not None
        if params is None:
            return sql
        statement = prepared.parse(sql) if self.prepare else None
        if statement is None:
            text = self._cur.mogrify(sql, params)
            return text.decode() if isinstance(text, bytes) else text
        names = prepared.known(self._conn)
        if statement.name not in names:  # on its own: PREPARE outlives a rollback, so this stays true
            await db.run(self._cur, f"PREPARE {statement.name} AS {statement.text}")
            names.add(statement.name)
        return prepared.execute_call(self._cur, statement, params)

    async def _send(self, text: str, *, begin: bool) -> None:
        assert self._cur is not None and self._conn is not None
        try:
            await db.run(self._cur, ("BEGIN; " + text) if begin else text)
        except psycopg2.errors.FeatureNotSupported as exc:
            if "cached plan" not in str(exc):
                raise
            # a migration changed a table under this connection's prepared statements: drop the
            # connection (and them with it); the request is refused as a retryable conflict
            self._conn.close()
            raise ConcurrencyConflict("the database schema changed under this request; retry it") from exc

    async def fetch(self, sql: str, params: Any = None, *, plain_read: bool = False) -> list[dict[str, Any]]:
        await self.execute(sql, params, plain_read=plain_read)
        assert self._cur is not None
        return await db.fetch_rows(self._cur)

    # -- identity map ---------------------------------------------------------------------------
    def cached(self, table: Table, key: str) -> Any | None:
        return self._identity.get((table.name, key))

    def load(self, table: Table, row: dict[str, Any], key: str, *, refresh: bool = False) -> Any:
        """The object for ``row``: the one already loaded (refreshed from ``row`` when ``refresh``
        and this unit of work has not changed it), else a new one, remembered."""
        ident = (table.name, key)
        existing = self._identity.get(ident)
        if existing is None:
            return self.adopt(table, key, table.from_row(row))
        if refresh and table.to_row(existing) == self._snapshots.get(ident):
            fresh = table.from_row(row)
            for field in attrs.fields(type(fresh)):
                if field.name != "events":
                    setattr(existing, field.name, getattr(fresh, field.name))
            self._remember(table, key, existing)
        return existing

    def adopt(self, table: Table, key: str, obj: Any) -> Any:
        self._identity[(table.name, key)] = obj
        self._remember(table, key, obj)
        if hasattr(obj, "events") and all(obj is not seen for seen in self.seen):
            self.seen.append(obj)
        return obj

    def _remember(self, table: Table, key: str, obj: Any) -> None:
        self._snapshots[(table.name, key)] = table.to_row(obj)
        if table.versioned:
            self._versions[(table.name, key)] = obj.version

    def loaded_version(self, table: Table, key: str) -> int | None:
        return self._versions.get((table.name, key))

    # -- the transaction (used by the unit of work) ---------------------------------------------
    async def commit(self, sql: str = "", params: Any = None) -> None:
        """The deferred writes, then ``sql`` (the outbox insert), then COMMIT, in one round trip;
        nothing is sent for a transaction never begun with nothing to write."""
        idle = self._usable_status() == db.IDLE
        parts = await self._take_deferred()
        if sql:
            parts.append(await self._render(sql, params))
        if parts or not idle:  # an untouched transaction has nothing to commit
            await self._send("; ".join([*parts, "COMMIT"]), begin=idle)
        self._identity, self._snapshots, self._versions, self._locked = {}, {}, {}, set()

    async def rollback(self) -> None:
        await self.end_transaction()
        self._deferred = []
        self._identity, self._snapshots, self._versions, self._locked = {}, {}, {}, set()

    async def end_transaction(self) -> None:
        conn = self._conn
        if conn is None or conn.closed or conn.raw.get_transaction_status() == db.IDLE:
            return
        try:
            assert self._cur is not None
            await self._cur.execute("ROLLBACK")
        except Exception as exc:
            if not db.lost_connection(self.pool, exc):  # an outage is logged once, by the pool's tracker
                log.warning("rollback failed; dropping the connection", exc_info=True)
            conn.close()
