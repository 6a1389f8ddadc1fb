"""Postgres unit of work: one pooled connection, one explicit transaction, an identity map with
optimistic version checks, and domain events written to the outbox in the same transaction."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiopg
import attrs
import psycopg2.errors

from adapters.after_commit import run_after_commit
from adapters.postgres import db, prepared
from adapters.postgres.deliveries import PostgresDeliveries
from adapters.postgres.delivery_repositories import (
    PostgresAddresses,
    PostgresCarts,
    PostgresRedemptions,
)
from adapters.postgres.mapping import Table
from adapters.postgres.outbox import mark_published, outbox_insert
from adapters.postgres.repositories import (
    PostgresCoupons,
    PostgresLedger,
    PostgresNotifications,
    PostgresOrders,
    PostgresPayments,
    PostgresProducts,
    PostgresRefunds,
    PostgresUsers,
    PostgresWebhooks,
)
from application.errors import ConcurrencyConflict
from application.ports import EventBus, TransactionHandler

log = logging.getLogger(__name__)


class PostgresUnitOfWork:
    """One transaction on one connection (aiopg is autocommit: BEGIN/COMMIT are issued here).

    ``BEGIN`` is sent with the first statement that writes or locks (plain reads before it need
    none); without ``commit()`` everything is rolled back.
    Objects are loaded once per unit of work (later reads return the same object); ``save`` updates
    ``WHERE version = <version when loaded>`` and raises ConcurrencyConflict when another
    transaction changed the row first. On commit the events of every aggregate loaded or added
    are inserted into ``outbox`` in the same transaction, then published after the connection is
    released and their outbox rows marked published (leftovers go through ``OutboxRelay``).
    """

    def __init__(self, pool: aiopg.Pool, bus: EventBus, handlers: Sequence[TransactionHandler] = (),
                 prepare: bool = True) -> None:
        self.pool = pool
        self.bus = bus
        self.handlers = handlers
        self.prepare = prepare
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self._deferred: list[tuple[str, Any]] = []
        self._conn: aiopg.Connection | None = None
        self._cur: aiopg.Cursor | None = None
        self._identity: dict[tuple[str, str], Any] = {}
        self._snapshots: dict[tuple[str, str], dict] = {}
        self._versions: dict[tuple[str, str], int] = {}
        self._seen: list[Any] = []
        self._outgoing: list[tuple[Any, Any]] = []
        self._committed = False
        self.users = PostgresUsers(self)
        self.products = PostgresProducts(self)
        self.coupons = PostgresCoupons(self)
        self.orders = PostgresOrders(self)
        self.payments = PostgresPayments(self)
        self.refunds = PostgresRefunds(self)
        self.ledger = PostgresLedger(self)
        self.webhooks = PostgresWebhooks(self)
        self.notifications = PostgresNotifications(self)
        self.carts = PostgresCarts(self)
        self.addresses = PostgresAddresses(self)
        self.redemptions = PostgresRedemptions(self)
        self.deliveries = PostgresDeliveries(self)

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
        await self._send(text, begin=idle and not plain_read)
        assert self._cur is not None
        return self._cur.rowcount

    def defer(self, sql: str, params: Any = None) -> None:
        """A write nobody waits on the outcome of: sent with the COMMIT, in its round trip, and
        dropped if the unit of work rolls back."""
        self._deferred.append((sql, params))

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
        return db.rows(self._cur, await self._cur.fetchall())

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
        if hasattr(obj, "events") and all(obj is not seen for seen in self._seen):
            self._seen.append(obj)
        return obj

    def _remember(self, table: Table, key: str, obj: Any) -> None:
        self._snapshots[(table.name, key)] = table.to_row(obj)
        if table.versioned:
            self._versions[(table.name, key)] = obj.version

    def loaded_version(self, table: Table, key: str) -> int | None:
        return self._versions.get((table.name, key))

    # -- the unit of work -----------------------------------------------------------------------
    async def __aenter__(self) -> PostgresUnitOfWork:
        self._conn = await db.acquire(self.pool)
        self._cur = await self._conn.cursor()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if not self._committed:
                await self.rollback()
            else:
                await self._end_transaction()  # statements after commit() are discarded
        finally:
            conn, self._conn, cur, self._cur = self._conn, None, self._cur, None
            if cur is not None:
                cur.close()
            if conn is not None:
                await db.release(self.pool, conn)
        outgoing, self._outgoing = self._outgoing, []
        await self._publish(outgoing)
        actions, self._after_commit = self._after_commit, []
        await run_after_commit(actions)

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(action)

    async def commit(self) -> None:
        raised = [event for obj in self._seen for event in obj.events]
        for handler in self.handlers:  # in this transaction: what they write commits with the change
            await handler(self, raised)
        events = [event for obj in self._seen for event in obj.events]
        delivered = [self.bus.delivers(event) for event in events]
        sql, params, ids = outbox_insert(events, published=[not d for d in delivered])
        idle = self._usable_status() == db.IDLE
        deferred, self._deferred = self._deferred, []
        parts = [await self._render(s, p) for s, p in deferred]
        if sql:
            parts.append(await self._render(sql, params))
        if parts or not idle:  # an untouched transaction has nothing to commit
            await self._send("; ".join([*parts, "COMMIT"]), begin=idle)
        for obj in self._seen:
            obj.events.clear()
        self._outgoing.extend((i, e) for i, e, d in zip(ids, events, delivered, strict=True) if d)
        self._identity, self._snapshots, self._versions = {}, {}, {}
        self._committed = True

    async def rollback(self) -> None:
        await self._end_transaction()
        self._after_commit, self._deferred = [], []
        self._identity, self._snapshots, self._versions = {}, {}, {}
        for obj in self._seen:
            obj.events.clear()
        self._seen = []

    async def _end_transaction(self) -> None:
        conn = self._conn
        if conn is None or conn.closed or conn.raw.get_transaction_status() == db.IDLE:
            return
        try:
            assert self._cur is not None
            await self._cur.execute("ROLLBACK")
        except Exception:
            log.warning("rollback failed; dropping the connection", exc_info=True)
            conn.close()

    async def _publish(self, outgoing: list[tuple[Any, Any]]) -> None:
        published = []
        for outbox_id, event in outgoing:
            try:
                await self.bus.publish(event)
            except Exception:  # the relay delivers this one and the rest, in order
                log.exception("publishing %s failed; left to the outbox relay", event.name)
                break
            published.append(outbox_id)
        await mark_published(self.pool, published)


class PostgresUnitOfWorkFactory:
    """``UnitOfWorkFactory`` (a new PostgresUnitOfWork per call, never shared between requests) and
    ``TransactionSubscribers``."""

    def __init__(self, pool: aiopg.Pool, bus: EventBus, prepare: bool = True) -> None:
        self.pool, self.bus, self.prepare = pool, bus, prepare
        self.handlers: list[TransactionHandler] = []

    def subscribe(self, handler: TransactionHandler) -> None:
        self.handlers.append(handler)

    def __call__(self) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self.pool, self.bus, self.handlers, self.prepare)
