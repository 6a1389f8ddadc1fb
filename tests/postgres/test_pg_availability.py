"""Postgres-only: a database that is down or saturated answers DependencyUnavailable, fast."""
from __future__ import annotations

import time

import pytest

from adapters.memory.infrastructure import InMemoryEventBus
from adapters.postgres.idempotency import PostgresIdempotencyStore
from adapters.postgres.pool import create_pool
from adapters.postgres.read_model import PostgresReadModel
from adapters.postgres.uow import PostgresUnitOfWork
from adapters.system import FakeClock
from application.errors import DependencyUnavailable


async def test_an_unreachable_database_fails_fast():
    started = time.monotonic()
    with pytest.raises(DependencyUnavailable) as caught:
        await create_pool("host=127.0.0.1 port=1 user=postgres dbname=postgres").__anext__()
    assert caught.value.details == {"dependency": "postgres"}
    assert time.monotonic() - started < 5


async def test_a_saturated_pool_is_unavailable_not_a_hang(pg_dsn):
    resource = create_pool(pg_dsn, minsize=1, maxsize=1, timeout=0.2)
    pool = await resource.__anext__()
    try:
        held = await pool.acquire()
        with pytest.raises(DependencyUnavailable):
            async with PostgresUnitOfWork(pool, InMemoryEventBus()):
                pass
        with pytest.raises(DependencyUnavailable):
            await PostgresReadModel(pool).list_categories()
        with pytest.raises(DependencyUnavailable):
            await PostgresIdempotencyStore(pool, FakeClock()).begin("s", "k", "f", 30)
        await pool.release(held)
    finally:
        await resource.aclose()


async def test_a_connection_killed_mid_transaction_is_unavailable(pg_pool):
    async with PostgresUnitOfWork(pg_pool, InMemoryEventBus()) as uow:
        assert await uow.users.get("usr_1") is None
        (row,) = await uow.session.fetch("SELECT pg_backend_pid() AS pid")
        async with pg_pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute("SELECT pg_terminate_backend(%s)", (row["pid"],))
        with pytest.raises(DependencyUnavailable):
            await uow.users.get("usr_2")
    async with PostgresUnitOfWork(pg_pool, InMemoryEventBus()) as uow:  # the pool recovers
        assert await uow.users.get("usr_1") is None


async def test_a_pooled_connection_that_dies_while_it_is_handed_out_is_replaced_not_a_500(pg_dsn, monkeypatch):
    """Regression (found by the Postgres-cut battery): aiopg drops closed connections from its free
    list, then may wait (opening another) before it hands one out; a connection the server
    terminated during that wait was handed out closed, and aiopg's ``assert not conn.closed``
    escaped as an AssertionError: a 500. It is another connection now (or a 503 if none can be had)."""
    from adapters.postgres import db

    resource = create_pool(pg_dsn, minsize=1, maxsize=4, timeout=2)
    pool = await resource.__anext__()
    try:
        async with db.cursor(pool) as cur:  # one free connection in the pool
            await db.run(cur, "SELECT 1")
        real_fill, died = pool._fill_free_pool, []

        async def fill(override_min):
            await real_fill(override_min)
            if pool._free and not died:  # the server's termination is noticed during the fill's wait
                died.append(pool._free[0])
                pool._free[0].close()
        monkeypatch.setattr(pool, "_fill_free_pool", fill)
        assert await db.fetch(pool, "SELECT 41 + 1 AS answer") == [{"answer": 42}]
        assert died and died[0].closed
    finally:
        await resource.aclose()


async def test_rows_read_after_the_connection_died_are_unavailable_not_a_driver_error(pg_pool, monkeypatch):
    """Regression (found by the Postgres-cut battery): a connection terminated between a statement
    and the read of its rows raised psycopg2's ``InterfaceError: cursor already closed`` out of
    ``fetchall``, which no one translated: a 500. It is DependencyUnavailable (a 503) now."""
    from adapters.postgres import db

    real_run = db.run

    async def run_then_die(cur, sql, params=None):
        await real_run(cur, sql, params)
        cur.connection.close()  # terminated after the statement: its rows never come
    monkeypatch.setattr(db, "run", run_then_die)
    with pytest.raises(DependencyUnavailable):
        await db.fetch(pg_pool, "SELECT 1")
    monkeypatch.setattr(db, "run", real_run)
    assert await db.fetch(pg_pool, "SELECT 1 AS one") == [{"one": 1}]  # the pool recovers


async def test_a_connection_that_dies_before_its_unit_of_work_starts_is_given_back(pg_dsn, monkeypatch):
    """Regression (found by the Postgres-cut battery): a unit of work that got a connection which
    died before its cursor was made raised a driver error out of ``__aenter__`` and never gave the
    connection's place back: under the cut, the pool's places leaked until every request waited the
    pool's whole timeout (30 s) for one. It is DependencyUnavailable now, and the place is free."""
    import aiopg

    resource = create_pool(pg_dsn, minsize=1, maxsize=1, timeout=1)
    pool = await resource.__anext__()
    real_cursor, dead = aiopg.Connection.cursor, []

    async def cursor(self, *args, **kwargs):
        if not dead:
            dead.append(self)
            self.close()  # terminated by the server between the pool's hand-out and the cursor
        return await real_cursor(self, *args, **kwargs)
    monkeypatch.setattr(aiopg.Connection, "cursor", cursor)
    try:
        with pytest.raises(DependencyUnavailable):
            async with PostgresUnitOfWork(pool, InMemoryEventBus()):
                pass
        started = time.monotonic()
        async with PostgresUnitOfWork(pool, InMemoryEventBus()) as uow:  # the one place is free again
            assert await uow.users.get("usr_1") is None
        assert time.monotonic() - started < 1
    finally:
        await resource.aclose()
