"""Postgres-only: migrations are ordered, idempotent, atomic per file and safe to run concurrently."""
from __future__ import annotations

import asyncio

import psycopg2
import pytest

from adapters.postgres.migrate import MigrationError, load_migrations, migrate


def _query(dsn: str, sql: str) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


async def test_a_second_run_applies_nothing(scratch_dsn):
    names = [m.name for m in load_migrations()]
    assert names[0] == "0001_initial" and names == sorted(names)
    assert await migrate(scratch_dsn) == names
    assert await migrate(scratch_dsn) == []
    recorded = _query(scratch_dsn, "SELECT name, checksum FROM schema_migrations ORDER BY name")
    assert recorded == [(m.name, m.checksum) for m in load_migrations()]


async def test_concurrent_runs_apply_each_migration_once(scratch_dsn):
    results = await asyncio.gather(*[migrate(scratch_dsn) for _ in range(4)])
    applied = [name for result in results for name in result]
    assert sorted(applied) == [m.name for m in load_migrations()]


async def test_a_failed_migration_rolls_back_alone(scratch_dsn, tmp_path):
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE first_table (id int);")
    (tmp_path / "0002_broken.sql").write_text(
        "CREATE TABLE second_table (id int); INSERT INTO first_table VALUES (1); SELECT 1 / 0;")
    (tmp_path / "0003_never.sql").write_text("CREATE TABLE third_table (id int);")
    with pytest.raises(MigrationError, match="0002_broken"):
        await migrate(scratch_dsn, tmp_path)
    tables = {row[0] for row in _query(scratch_dsn, "SELECT tablename FROM pg_tables "
                                                    "WHERE schemaname = current_schema()")}
    assert tables == {"schema_migrations", "first_table"}
    assert _query(scratch_dsn, "SELECT count(*) FROM first_table") == [(0,)]
    assert _query(scratch_dsn, "SELECT name FROM schema_migrations") == [("0001_first",)]
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE second_table (id int);")
    assert await migrate(scratch_dsn, tmp_path) == ["0002_broken", "0003_never"]


async def test_every_domain_field_has_a_column(pg_pool):
    """A field added to a domain class needs a migration: this names the missing columns."""
    from adapters.postgres import registry
    from adapters.postgres.mapping import Table

    tables = [t for module in registry.CONTEXTS for t in vars(module).values() if isinstance(t, Table)]
    assert {"users", "orders", "payment_intents", "addresses"} <= {t.name for t in tables}
    async with pg_pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute("SELECT table_name, column_name FROM information_schema.columns "
                          "WHERE table_schema = current_schema()")
        present = set(await cur.fetchall())
    missing = [(t.name, c) for t in tables for c in t.columns if (t.name, c) not in present]
    assert missing == []
