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
