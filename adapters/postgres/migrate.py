"""SQL migrations: ordered, idempotent, one transaction each, safe to run from many processes at once.

Files ``NNNN_name.sql`` in ``migrations/`` are applied in name order. Each runs in its own
transaction that first takes ``pg_advisory_xact_lock`` (so concurrent ``payport migrate`` runs
queue up), skips the file if ``schema_migrations`` already records it, else runs it and records it
with its checksum. A failing file rolls back alone and stops the run; earlier files stay applied.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import aiopg
import attrs

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: Key of the advisory lock every migrating transaction takes ("payport" in ASCII).
ADVISORY_LOCK_KEY = 0x7061_7970_6F72_74

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


class MigrationError(Exception):
    """A migration failed (and was rolled back)."""


@attrs.frozen
class Migration:
    """One SQL file: its name (the file stem) and its text."""

    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: str | Path | None = None) -> list[Migration]:
    """The migrations in ``directory`` (default: the packaged ones), in the order they apply."""
    folder = Path(directory) if directory is not None else MIGRATIONS_DIR
    return [Migration(p.stem, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.sql"))]


async def applied_migrations(dsn: str) -> dict[str, str]:
    """Name -> checksum of every migration recorded in the database (empty before the first run)."""
    async with aiopg.connect(dsn, timeout=30) as conn, conn.cursor() as cur:
        await cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        (exists,) = await cur.fetchone()
        if not exists:
            return {}
        await cur.execute("SELECT name, checksum FROM schema_migrations")
        return dict(await cur.fetchall())


async def migrate(dsn: str, directory: str | Path | None = None, progress=None) -> list[str]:
    """Apply every pending migration; return the names applied by this call (empty: up to date).
    ``progress(done, total, name)`` (optional) is called before each migration."""
    applied: list[str] = []
    migrations = load_migrations(directory)
    async with aiopg.connect(dsn, timeout=600) as conn, conn.cursor() as cur:
        for number, migration in enumerate(migrations):
            if progress is not None:
                progress(number, len(migrations), migration.name)
            await cur.execute("BEGIN")
            try:
                await cur.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
                await cur.execute(_CREATE_TABLE)
                await cur.execute("SELECT checksum FROM schema_migrations WHERE name = %s", (migration.name,))
                done = await cur.fetchone()
                if done is None:
                    await cur.execute(migration.sql)
                    await cur.execute("INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)",
                                      (migration.name, migration.checksum))
                elif done[0] != migration.checksum:
                    log.warning("migration %s changed after it was applied; not re-applied", migration.name)
                await cur.execute("COMMIT")
            except BaseException as exc:
                if not conn.closed:
                    await cur.execute("ROLLBACK")
                if isinstance(exc, Exception):
                    raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
                raise
            if done is None:
                log.info("applied migration %s", migration.name)
                applied.append(migration.name)
    return applied
