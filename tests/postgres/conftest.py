"""Fixtures for the Postgres adapter tests and the contract tests run on memory and Postgres.

The ``payport_test`` database (override with ``PAYPORT_TEST_DSN``) is created if missing and
migrated once per session; every test starts from empty tables. An unreachable Postgres makes the
tests error out: they are never skipped.
"""
from __future__ import annotations

import uuid

import psycopg2

import attrs
import pytest

from adapters.memory.infrastructure import InMemoryEventBus, MemoryIdempotencyStore
from adapters.memory import registry as memory_registry
from adapters.memory.read_model import MemoryReadModel
from adapters.memory.store import MemoryStore
from adapters.memory.uow import MemoryUnitOfWorkFactory
from adapters.postgres.idempotency import PostgresIdempotencyStore
from adapters.postgres.registry import ALL_TABLES
from adapters.postgres import registry as postgres_registry
from adapters.postgres.pool import create_pool
from adapters.postgres.read_model import PostgresReadModel
from adapters.postgres.uow import PostgresUnitOfWorkFactory
from adapters.system import FakeClock
from domain.events import DomainEvent
from tests.databases import TEST_DSN, prepare_database, run_async  # noqa: F401 - run_async re-exported

@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The migrated test database. Rebuilt when a migration file changed since it was applied."""
    return prepare_database(TEST_DSN)


@pytest.fixture
def scratch_dsn(pg_dsn):
    """A DSN whose search_path is a fresh, empty schema (dropped afterwards)."""
    schema = f"mig_{uuid.uuid4().hex[:12]}"
    with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
    yield f"{pg_dsn} options='-c search_path={schema}'"
    with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
async def pg_pool(pg_dsn):
    """A pool on the test database; every table is emptied first."""
    resource = create_pool(pg_dsn, minsize=1, maxsize=10)
    pool = await resource.__anext__()
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(f"TRUNCATE {', '.join(ALL_TABLES)} RESTART IDENTITY CASCADE")
    yield pool
    await resource.aclose()


@attrs.define
class Backend:
    """One adapter family under test, seen through the ports only (plus a test hook)."""

    name: str
    uow: object
    read_model: object
    idempotency: object
    clock: FakeClock
    published: list
    bus: InMemoryEventBus
    pool: object = None
    store: MemoryStore | None = None

    async def competing_write(self, table: str, key: str) -> None:
        """Another request changes row ``key`` of ``table`` (bumps its version) right now."""
        if self.store is not None:
            row = self.store.tables[table][key]
            self.store.tables[table][key] = attrs.evolve(row, version=row.version + 1)
            return
        sql_table = {"payments": "payment_intents", "webhooks": "webhook_events"}.get(table, table)
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(f"UPDATE {sql_table} SET version = version + 1 WHERE id = %s", (key,))
            assert cur.rowcount == 1

    def uow_with(self, extra: dict):
        """A unit-of-work factory on this backend whose units of work also carry ``extra``
        (attribute -> repository factory taking the session), as a new context's would."""
        if self.store is not None:
            return MemoryUnitOfWorkFactory(self.store, self.bus,
                                           repositories={**memory_registry.REPOSITORIES, **extra})
        return PostgresUnitOfWorkFactory(self.pool, self.bus, repositories={**postgres_registry.REPOSITORIES, **extra})


def _recording_bus() -> tuple[InMemoryEventBus, list]:
    bus, published = InMemoryEventBus(), []

    async def record(event: DomainEvent) -> None:
        published.append(event)

    bus.subscribe(DomainEvent, record)
    return bus, published


@pytest.fixture(params=["memory", "postgres"])
def backend(request) -> Backend:
    """The contract tests run once per adapter family."""
    clock = FakeClock()
    bus, published = _recording_bus()
    if request.param == "memory":
        store = MemoryStore()
        return Backend("memory", MemoryUnitOfWorkFactory(store, bus), MemoryReadModel(store),
                       MemoryIdempotencyStore(clock), clock, published, bus, store=store)
    return _postgres_backend(request.getfixturevalue("pg_pool"), clock, bus, published)


def _postgres_backend(pool, clock, bus, published) -> Backend:
    return Backend("postgres", PostgresUnitOfWorkFactory(pool, bus), PostgresReadModel(pool),
                   PostgresIdempotencyStore(pool, clock), clock, published, bus, pool=pool)


@pytest.fixture
def pg_backend(pg_pool) -> Backend:
    """The Postgres adapters alone, for the Postgres-only tests."""
    bus, published = _recording_bus()
    return _postgres_backend(pg_pool, FakeClock(), bus, published)
