"""Purging the outbox: deleting rows (before migration 0014) against dropping day partitions (after).

    .venv/bin/python bench/partitions.py [--rows 500000] [--dsn "host=127.0.0.1 user=postgres dbname=payport_bench"]

Three scratch schemas of one database: ``before`` (migrated up to 0011, the unpartitioned outbox),
``after`` (every migration, with a day partition for each of the last 14 days) and ``migrated``
(0011, the rows, then 0014 timed: what the migration costs on a table of that size). Each gets
``--rows`` published outbox rows spread evenly over the last 14 days; the purge keeps 7 days, so
half of them go. Figures: the wall time of each purge, and of the migration.
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2

from adapters.postgres.migrate import MIGRATIONS_DIR, migrate
from adapters.postgres.outbox import OutboxRelay
from adapters.postgres.partitions import PostgresPartitions
from adapters.postgres.pool import create_pool
from adapters.system import FakeClock, SystemClock

DAYS = 14
FILL = ("INSERT INTO outbox (id, event_name, payload, created_at, published_at) "
        "SELECT gen_random_uuid(), 'ORDER_CREATED', '{\"order_id\": \"ord_1\", \"total\": 1075}'::jsonb, t, t "
        "FROM (SELECT now() - (%s::float8 * i / %s) * interval '1 second' AS t FROM generate_series(1, %s) i) s")


def sql(dsn: str, statement: str, params=None) -> None:
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
    finally:
        conn.close()


def schema(dsn: str, name: str) -> str:
    sql(dsn, f"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")
    return f"{dsn} options='-c search_path={name}'"


def up_to_0011() -> Path:
    folder = Path(tempfile.mkdtemp())
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if path.name < "0012":
            shutil.copy(path, folder / path.name)
    return folder


def wal(dsn: str) -> int:
    """The server's WAL position, in bytes (the difference of two is the WAL written between them)."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def fill(dsn: str, rows: int) -> float:
    started = time.perf_counter()
    sql(dsn, FILL, (DAYS * 86400, rows, rows))
    sql(dsn, "ANALYZE outbox")
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--dsn", default="host=127.0.0.1 user=postgres dbname=payport_bench_partitions")
    args = parser.parse_args()
    base = psycopg2.extensions.parse_dsn(args.dsn)
    admin = psycopg2.extensions.make_dsn(**{**base, "dbname": "postgres"})
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (base["dbname"],))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{base["dbname"]}"')
    conn.close()
    old = up_to_0011()

    before = schema(args.dsn, "bench_before")
    await migrate(before, old)
    fill(before, args.rows)
    async with _pool(before) as pool:
        started, lsn = time.perf_counter(), wal(before)
        deleted = await _delete_old(pool)
        delete_s, delete_wal = time.perf_counter() - started, wal(before) - lsn

    after = schema(args.dsn, "bench_after")
    await migrate(after)
    async with _pool(after) as pool:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        for row in await PostgresPartitions(pool, SystemClock()).partitions("outbox"):
            if row.lo is None and not row.default:  # the migration's "before" partition (empty here)
                sql(after, f'ALTER TABLE outbox DETACH PARTITION "{row.name}"; DROP TABLE "{row.name}"')
        for back in range(DAYS, -1, -1):  # a day partition for each of the last 14 days
            await PostgresPartitions(pool, FakeClock(today - timedelta(days=back))).ensure()
        fill(after, args.rows)
        started, lsn = time.perf_counter(), wal(after)
        dropped = await PostgresPartitions(pool, SystemClock()).purge()
        drop_s, drop_wal = time.perf_counter() - started, wal(after) - lsn
        started, lsn = time.perf_counter(), wal(after)
        rest = await OutboxRelay(pool, None).purge()
        rest_s, rest_wal = time.perf_counter() - started, wal(after) - lsn

    migrated = schema(args.dsn, "bench_migrated")
    await migrate(migrated, old)
    fill(migrated, args.rows)
    started = time.perf_counter()
    await migrate(migrated)
    migrate_s = time.perf_counter() - started

    print(f"rows: {args.rows:,} published outbox rows over {DAYS} days; purge keeps 7 days")
    print(f"before 0014: DELETE ...                      {deleted:>9,} rows in {delete_s * 1000:8.0f} ms, "
          f"{delete_wal / 2**20:6.1f} MiB of WAL (and as many dead rows for VACUUM)")
    print(f"after 0014:  DROP {len(dropped):>2} partitions (the job)    in {drop_s * 1000:8.0f} ms, "
          f"{drop_wal / 2**20:6.1f} MiB of WAL")
    print(f"             + DELETE the cutoff's day         {rest:>9,} rows in {rest_s * 1000:8.0f} ms, "
          f"{rest_wal / 2**20:6.1f} MiB of WAL")
    print(f"migration 0014 on {args.rows:,} outbox rows (moved, one transaction): {migrate_s:.1f} s")
    for name in ("bench_before", "bench_after", "bench_migrated"):
        sql(args.dsn, f"DROP SCHEMA {name} CASCADE")


async def _delete_old(pool) -> int:
    """The purge as it was before 0014 (``OutboxRelay.purge`` of commit fab35bb)."""
    from adapters.postgres import db

    async with db.cursor(pool) as cur:
        await db.run(cur, "DELETE FROM outbox WHERE published_at IS NOT NULL "
                          "AND published_at < now() - make_interval(secs => %s)", (7 * 86400,))
        return cur.rowcount


class _pool:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def __aenter__(self):
        self.resource = create_pool(self.dsn, minsize=1, maxsize=2, timeout=600)
        return await self.resource.__anext__()

    async def __aexit__(self, *exc) -> None:
        await self.resource.aclose()


if __name__ == "__main__":
    asyncio.run(main())
