"""The time-partitioned tables (migration 0014): their coming partitions created ahead of time, and
the partitions past their retention dropped (purging without deleting rows one by one).

Each table is range-partitioned on a timestamp, a day or a month per partition, with a DEFAULT
partition that takes whatever no other partition covers (so an insert never fails, even when this
job has not run). ``ensure`` creates the partitions of the current period and the next ``ahead``
ones; a period whose rows the DEFAULT partition already took is created empty beside it, the rows
moved in and the table attached, in one transaction. ``purge`` drops a partition once its whole
range is older than the table's retention and nothing in it must stay (an unpublished outbox row
keeps its day). Times come from the clock port.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import aiopg
import attrs

from adapters.postgres import db
from application.ports import Clock

log = logging.getLogger(__name__)


@attrs.frozen
class PartitionedTable:
    """``name`` partitioned by ``column``, a ``period`` per partition; partitions wholly older than
    ``retention`` are dropped (None: never) unless a row matches ``keep`` (SQL, ``%(cutoff)s``)."""

    name: str
    column: str
    period: Literal["day", "month"]
    ahead: int
    retention: timedelta | None
    keep: str | None = None


PARTITIONED: tuple[PartitionedTable, ...] = (
    #: published rows are kept 7 days (``OutboxRelay.purge``); an unpublished one keeps its day
    PartitionedTable("outbox", "created_at", "day", 7, timedelta(days=7),
                     keep="published_at IS NULL OR published_at >= %(cutoff)s"),
    #: attempt logs (merchant webhooks, e-mail): ten attempts span three days, support looks back 90
    PartitionedTable("delivery_attempts", "started_at", "month", 2, timedelta(days=90)),
    #: kept with their orders (an order answers its whole history): never dropped here
    PartitionedTable("order_status_history", "at", "month", 2, None),
    #: reaped Idempotency-Keys (``PostgresIdempotencyStore.reap``): what answered, a week more
    PartitionedTable("idempotency_keys_expired", "completed_at", "day", 7, timedelta(days=7)),
)

#: the advisory lock partition changes take (two workers never create or drop one together)
LOCK_KEY = 0x7061727473  # "parts"
#: how long a partition change waits for a lock on its table before giving up until the next run
LOCK_TIMEOUT = "5s"
_BOUND = re.compile(r"FROM \((?P<lo>[^)]*)\) TO \((?P<hi>[^)]*)\)")


@attrs.frozen
class Partition:
    name: str
    #: None: MINVALUE (from) or MAXVALUE (to); both None and ``default``: the DEFAULT partition
    lo: datetime | None
    hi: datetime | None
    default: bool = False


def _instant(text: str) -> datetime | None:
    text = text.strip().strip("'")
    if text in ("MINVALUE", "MAXVALUE"):
        return None
    value = datetime.fromisoformat(text.replace(" ", "T"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def period_start(table: PartitionedTable, at: datetime) -> datetime:
    at = at.astimezone(UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if table.period == "day" else day.replace(day=1)


def next_period(table: PartitionedTable, start: datetime) -> datetime:
    if table.period == "day":
        return start + timedelta(days=1)
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def partition_name(table: PartitionedTable, start: datetime) -> str:
    return f"{table.name}_p{start.strftime('%Y%m%d' if table.period == 'day' else '%Y%m')}"


class PostgresPartitions:
    """Creates and drops the partitions of ``tables`` (default: every partitioned table)."""

    def __init__(self, pool: aiopg.Pool, clock: Clock, tables: Sequence[PartitionedTable] = PARTITIONED) -> None:
        self.pool, self.clock, self.tables = pool, clock, tuple(tables)

    async def partitions(self, table: str) -> list[Partition]:
        """``table``'s partitions, the DEFAULT one last."""
        rows = await db.fetch(self.pool, "SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound "
                                         "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                         "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname", [table])
        found = []
        for r in rows:
            if r["bound"] == "DEFAULT":
                found.append(Partition(r["name"], None, None, default=True))
            elif m := _BOUND.search(r["bound"]):
                found.append(Partition(r["name"], _instant(m["lo"]), _instant(m["hi"])))
        return sorted(found, key=lambda p: (p.default, p.lo or datetime.min.replace(tzinfo=UTC)))

    async def maintain(self) -> int:
        """The job: ``ensure`` then ``purge``; how many partitions were created or dropped."""
        return len(await self.ensure()) + len(await self.purge())

    async def ensure(self) -> list[str]:
        """Create every table's partitions of this period and the next ``ahead`` ones that no
        partition covers yet; return their names."""
        created = []
        for table in self.tables:
            existing = [p for p in await self.partitions(table.name) if not p.default]
            start = period_start(table, self.clock.now())
            for _ in range(table.ahead + 1):
                end = next_period(table, start)
                if not any(_overlaps(p, start, end) for p in existing):
                    name = partition_name(table, start)
                    if await self._create(table, name, start, end):
                        created.append(name)
                    existing.append(Partition(name, start, end))
                start = end
        if created:
            log.info("partitions created: %s", ", ".join(created))
        return created

    async def _create(self, table: PartitionedTable, name: str, start: datetime, end: datetime) -> bool:
        """The new partition, with whatever the DEFAULT partition took of its range moved into it;
        False if another worker made it meanwhile (the advisory lock makes the second find it)."""
        default = f"{table.name}_default"
        async with db.cursor(self.pool) as cur:
            await db.run(cur, "BEGIN; SELECT pg_advisory_xact_lock(%s); SET LOCAL lock_timeout = %s; "
                              "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL",
                         (LOCK_KEY, LOCK_TIMEOUT, name, default))
            made, has_default = await cur.fetchone()
            if made:
                await db.run(cur, "COMMIT")
                return False
            await db.run(cur, f'CREATE TABLE "{name}" (LIKE "{table.name}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
            if has_default:
                await db.run(cur, f'WITH moved AS (DELETE FROM "{default}" WHERE {table.column} >= %s AND '
                                  f'{table.column} < %s RETURNING *) INSERT INTO "{name}" SELECT * FROM moved',
                             (start, end))
            await db.run(cur, f'ALTER TABLE "{table.name}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s); '
                              "COMMIT", (start, end))
        return True

    async def purge(self) -> list[str]:
        """Drop every partition whose whole range is older than its table's retention and that holds
        no row its table keeps; return their names."""
        dropped = []
        now = self.clock.now()
        for table in self.tables:
            if table.retention is None:
                continue
            cutoff = now - table.retention
            for p in await self.partitions(table.name):
                if p.default or p.hi is None or p.hi > cutoff:
                    continue
                if await self._drop(table, p.name, cutoff):
                    dropped.append(p.name)
        if dropped:
            log.info("partitions dropped (past their retention): %s", ", ".join(dropped))
        return dropped

    async def _drop(self, table: PartitionedTable, name: str, cutoff: datetime) -> bool:
        """Detach and drop ``name`` unless it holds a row to keep. Nothing new can land in it (its
        range is past), so the check needs no lock; the detach waits at most ``LOCK_TIMEOUT`` for the
        parent (a failure is logged by the job and tried again at its next run)."""
        async with db.cursor(self.pool) as cur:
            if table.keep is not None:
                await db.run(cur, f'SELECT EXISTS (SELECT 1 FROM "{name}" WHERE {table.keep})', {"cutoff": cutoff})
                (kept,) = await cur.fetchone()
                if kept:
                    return False
            await db.run(cur, f'BEGIN; SELECT pg_advisory_xact_lock(%s); SET LOCAL lock_timeout = %s; '
                              f'ALTER TABLE "{table.name}" DETACH PARTITION "{name}"; DROP TABLE "{name}"; COMMIT',
                         (LOCK_KEY, LOCK_TIMEOUT))
        return True


def _overlaps(p: Partition, start: datetime, end: datetime) -> bool:
    lo_ok = p.lo is None or p.lo < end
    hi_ok = p.hi is None or p.hi > start
    return lo_ok and hi_ok
