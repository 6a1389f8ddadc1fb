"""The real PostgreSQL and Redis the suites use. Unreachable -> the tests error out; never skipped."""
from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import psycopg2.extensions

from adapters.postgres.registry import ALL_TABLES
from adapters.postgres.migrate import applied_migrations, load_migrations, migrate

#: Set PAYPORT_TEST_DB_SUFFIX to give a concurrent run (another developer's) databases of its own.
SUFFIX = os.environ.get("PAYPORT_TEST_DB_SUFFIX", "")
TEST_DSN = os.environ.get("PAYPORT_TEST_DSN", f"host=127.0.0.1 port=5432 user=postgres dbname=payport_test{SUFFIX}")
TEST_REDIS_URL = os.environ.get("PAYPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def with_dbname(dsn: str, name: str) -> str:
    params = psycopg2.extensions.parse_dsn(dsn)
    params["dbname"] = name
    return psycopg2.extensions.make_dsn(**params)


def run_async(coro):
    """Run ``coro`` to the end on a fresh loop in another thread (callable from inside a loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def prepare_database(dsn: str) -> str:
    """Create the database if missing and migrate it; rebuilt when a migration file changed."""
    name = psycopg2.extensions.parse_dsn(dsn)["dbname"]
    conn = psycopg2.connect(with_dbname(dsn, "postgres"), connect_timeout=3)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    recorded = run_async(applied_migrations(dsn))
    current = {m.name: m.checksum for m in load_migrations()}
    if any(current.get(n, c) != c for n, c in recorded.items()):
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    run_async(migrate(dsn))
    return dsn


def truncate_all(dsn: str) -> None:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(ALL_TABLES)} RESTART IDENTITY CASCADE")
