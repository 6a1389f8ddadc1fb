"""Postgres-only: migration 0014's time partitioning (issue 20). The migration keeps every row; the
`partitions` job creates the coming partitions (moving what the DEFAULT partition took) and drops
those past their retention, never one holding a row its table keeps; the purge and the time-bounded
reads are pruned to the partitions of their range (EXPLAIN)."""
from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from adapters.postgres.idempotency import PostgresIdempotencyStore
from adapters.postgres.migrate import MIGRATIONS_DIR, migrate
from adapters.postgres.outbox import PURGE_SQL
from adapters.postgres.partitions import PARTITIONED, PostgresPartitions
from adapters.postgres.pool import create_pool
from adapters.system import FakeClock
from application.ports import StoredResponse
from tests.databases import run_async

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
OLD = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def _sql(dsn: str, sql: str, params=None) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _order(dsn: str, order_id: str, created_at: datetime) -> None:
    _sql(dsn, "INSERT INTO orders (id, order_number, owner_id, currency, subtotal, discount, shipping, tax, total, "
              "status, created_at, updated_at) VALUES (%s, %s, 'usr_1', 'NGN', 100, 0, 0, 0, 100, 'paid', %s, %s)",
         (order_id, f"N-{order_id}", created_at, created_at))


def _delivery(dsn: str, delivery_id: str) -> None:
    _sql(dsn, "INSERT INTO deliveries (id, channel, dedup_key, payload, status, attempts, max_attempts, "
              "next_attempt_at, created_at, updated_at) VALUES (%s, 'merchant_webhook', %s, '{}', 'failed', 2, 10, "
              "now(), now(), now())", (delivery_id, delivery_id))


def _where(dsn: str, table: str) -> dict[str, str]:
    """Each row's partition, by a readable key."""
    key = {"outbox": "event_name", "delivery_attempts": "delivery_id || '#' || attempt",
           "order_status_history": "order_id || '#' || position", "idempotency_keys_expired": "key"}[table]
    return dict(_sql(dsn, f"SELECT {key}, tableoid::regclass::text FROM {table}"))


@pytest.fixture
def migrated(scratch_dsn) -> str:
    run_async(migrate(scratch_dsn))
    return scratch_dsn


async def test_the_migration_keeps_every_row_and_partitions_the_four_tables(scratch_dsn, tmp_path):
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < "0014":
            shutil.copy(path, tmp_path / path.name)
    await migrate(scratch_dsn, tmp_path)
    _sql(scratch_dsn, "INSERT INTO outbox (id, event_name, payload, created_at, published_at) VALUES "
                      "(gen_random_uuid(), 'old', '{}', %s, %s), (gen_random_uuid(), 'now', '{}', now(), NULL)",
         (OLD, OLD))
    _order(scratch_dsn, "ord_1", OLD)
    _sql(scratch_dsn, "INSERT INTO order_status_history (order_id, position, from_status, to_status, at, by) VALUES "
                      "('ord_1', 0, NULL, 'pending', %s, 'usr_1'), ('ord_1', 1, 'pending', 'paid', now(), 'system')",
         (OLD,))
    _delivery(scratch_dsn, "dlv_1")
    _sql(scratch_dsn, "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome) VALUES "
                      "('dlv_1', 1, %s, 5, 'failed'), ('dlv_1', 2, now(), 7, 'failed')", (OLD,))
    before = {t: _sql(scratch_dsn, f"SELECT * FROM {t} ORDER BY 1, 2") for t in
              ("outbox", "order_status_history", "delivery_attempts")}
    top_seq = _sql(scratch_dsn, "SELECT max(seq) FROM outbox")[0][0]

    shutil.copy(MIGRATIONS_DIR / "0014_partitioning.sql", tmp_path)
    assert await migrate(scratch_dsn, tmp_path) == ["0014_partitioning"]

    for table, rows in before.items():
        assert _sql(scratch_dsn, f"SELECT * FROM {table} ORDER BY 1, 2") == rows  # every row, unchanged
    partitioned = {r[0] for r in _sql(scratch_dsn, "SELECT c.relname FROM pg_partitioned_table p "
                                                   "JOIN pg_class c ON c.oid = p.partrelid")}
    assert partitioned == {t.name for t in PARTITIONED}
    stamp = TODAY.strftime("%Y%m%d")
    assert _where(scratch_dsn, "outbox") == {"old": f"outbox_before_{stamp}", "now": f"outbox_p{stamp}"}
    month = TODAY.replace(day=1).strftime("%Y%m%d")
    assert _where(scratch_dsn, "order_status_history") == {
        "ord_1#0": f"order_status_history_before_{month}", "ord_1#1": f"order_status_history_p{month[:6]}"}
    # the sequence went with the table: new rows number on
    _sql(scratch_dsn, "INSERT INTO outbox (id, event_name, payload) VALUES (gen_random_uuid(), 'next', '{}')")
    assert _sql(scratch_dsn, "SELECT seq FROM outbox WHERE event_name = 'next'")[0][0] > top_seq
    # the keys still hold: the same attempt twice, the same history entry twice, are refused
    with pytest.raises(psycopg2.errors.UniqueViolation):
        _sql(scratch_dsn, "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome) "
                          "SELECT delivery_id, attempt, started_at, 1, 'failed' FROM delivery_attempts LIMIT 1")
    # and a row for an instant no partition covers lands in DEFAULT instead of failing
    _sql(scratch_dsn, "INSERT INTO outbox (id, event_name, payload, created_at) VALUES "
                      "(gen_random_uuid(), 'far', '{}', '2099-01-01')")
    assert _where(scratch_dsn, "outbox")["far"] == "outbox_default"


async def test_ensure_creates_the_coming_partitions_and_moves_what_default_took(migrated):
    ahead = TODAY + timedelta(days=400)
    _sql(migrated, "INSERT INTO outbox (id, event_name, payload, created_at) VALUES "
                   "(gen_random_uuid(), 'early', '{}', %s)", (ahead + timedelta(hours=3),))
    _delivery(migrated, "dlv_1")  # a table with a foreign key: the attached partition gets it too
    _sql(migrated, "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome) VALUES "
                   "('dlv_1', 1, %s, 5, 'failed')", (ahead,))
    assert _where(migrated, "outbox")["early"] == "outbox_default"
    assert _where(migrated, "delivery_attempts")["dlv_1#1"] == "delivery_attempts_default"
    async with _partitions(migrated, FakeClock(ahead)) as parts:
        created = await parts.ensure()
        day = ahead.strftime("%Y%m%d")
        assert _where(migrated, "delivery_attempts")["dlv_1#1"] == f"delivery_attempts_p{day[:6]}"
        with pytest.raises(psycopg2.errors.ForeignKeyViolation):
            _sql(migrated, "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome) "
                           "VALUES ('dlv_none', 1, %s, 5, 'failed')", (ahead,))
        outbox_days = [n for n in created if n.startswith("outbox_p")]
        assert outbox_days[0] == f"outbox_p{day}" and len(outbox_days) == 8  # this day and the next 7
        assert _where(migrated, "outbox")["early"] == f"outbox_p{day}"  # moved out of DEFAULT
        assert _sql(migrated, "SELECT count(*) FROM outbox_default") == [(0,)]
        assert await parts.ensure() == []  # made once
        # a moved-in partition carries the table's keys and indexes
        indexes = {r[0] for r in _sql(migrated, "SELECT indexdef FROM pg_indexes WHERE tablename = %s",
                                      (f"outbox_p{day}",))}
        assert any("(id, created_at)" in i for i in indexes) and any("published_at IS NULL" in i for i in indexes)


async def test_two_workers_ensuring_at_once_create_each_partition_once(migrated):
    import asyncio

    clock = FakeClock(TODAY + timedelta(days=100))
    async with _partitions(migrated, clock) as one, _partitions(migrated, clock) as other:
        first, second = await asyncio.gather(one.ensure(), other.ensure())
    outbox = [n for n in first + second if n.startswith("outbox_p")]
    assert len(outbox) == len(set(outbox)) == 8  # each made by one of them (the advisory lock)
    assert sorted(outbox) == sorted(n for n in _names(migrated, "outbox") if n in outbox)


async def test_purge_drops_what_is_past_retention_and_keeps_an_unpublished_day(migrated):
    day = timedelta(days=1)
    _sql(migrated, "INSERT INTO outbox (id, event_name, payload, created_at, published_at) VALUES "
                   "(gen_random_uuid(), 'old', '{}', %(old)s, %(old)s), "
                   "(gen_random_uuid(), 'today', '{}', %(today)s, %(today)s), "
                   "(gen_random_uuid(), 'stuck', '{}', %(stuck)s, NULL), "
                   "(gen_random_uuid(), 'recent', '{}', %(recent)s, %(recent)s)",
         {"old": OLD, "today": TODAY + timedelta(hours=1), "stuck": TODAY + day + timedelta(hours=1),
          "recent": TODAY + 3 * day + timedelta(hours=1)})
    _sql(migrated, "INSERT INTO idempotency_keys_expired (scope, key, fingerprint, status, created_at, completed_at) "
                   "VALUES ('u', 'k-old', 'f', 201, %s, %s)", (TODAY, TODAY + timedelta(hours=2)))
    names_before = {t.name: _names(migrated, t.name) for t in PARTITIONED}
    async with _partitions(migrated, FakeClock(TODAY + 10 * day)) as parts:  # cutoff: TODAY + 3 days
        dropped = await parts.purge()
    stamp = lambda n: (TODAY + n * day).strftime("%Y%m%d")  # noqa: E731
    assert set(dropped) == {f"outbox_before_{stamp(0)}", f"outbox_p{stamp(0)}", f"outbox_p{stamp(2)}",
                            f"idempotency_keys_expired_before_{stamp(0)}", f"idempotency_keys_expired_p{stamp(0)}",
                            f"idempotency_keys_expired_p{stamp(1)}", f"idempotency_keys_expired_p{stamp(2)}"}
    assert set(_where(migrated, "outbox")) == {"stuck", "recent"}  # the unpublished row kept its day
    assert f"outbox_p{stamp(1)}" in _names(migrated, "outbox")
    assert _sql(migrated, "SELECT count(*) FROM idempotency_keys_expired") == [(0,)]
    # nothing of the order history nor of this quarter's delivery attempts goes
    assert _names(migrated, "order_status_history") == names_before["order_status_history"]
    assert _names(migrated, "delivery_attempts") == names_before["delivery_attempts"]


async def test_reaping_moves_completed_keys_to_the_expired_partitions(migrated):
    clock = FakeClock(TODAY + timedelta(hours=1))
    resource = create_pool(migrated, minsize=1, maxsize=2)
    pool = await resource.__anext__()
    try:
        store = PostgresIdempotencyStore(pool, clock)
        await store.begin("usr_1", "k1", "fp", 30)
        await store.complete("usr_1", "k1", StoredResponse(201, "application/json", b'{"id": 1}'))
        clock.advance(2 * 86400)
        assert await store.reap() == 1
    finally:
        await resource.aclose()
    assert _sql(migrated, "SELECT count(*) FROM idempotency_keys") == [(0,)]
    assert _sql(migrated, "SELECT scope, key, fingerprint, status, tableoid::regclass::text "
                          "FROM idempotency_keys_expired") == [
        ("usr_1", "k1", "fp", 201, f"idempotency_keys_expired_p{TODAY.strftime('%Y%m%d')}")]


def _scanned(dsn: str, sql: str, params) -> set[str]:
    """The relations ``sql``'s plan reads (EXPLAIN, no execution)."""
    [[plan]] = _sql(dsn, "EXPLAIN (FORMAT JSON) " + sql, params)
    found: set[str] = set()

    def walk(node):
        if "Relation Name" in node:
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)
    walk(plan[0]["Plan"] if isinstance(plan, list) else json.loads(plan)[0]["Plan"])
    return found


def test_the_purge_and_the_time_bounded_reads_are_pruned_to_their_partitions(migrated):
    stamp = TODAY.strftime("%Y%m%d")
    cutoff = TODAY + timedelta(days=2, hours=5)
    # the outbox purge: only the partitions before the cutoff (DEFAULT holds only what lies past the
    # last partition, so it is pruned too); "outbox" is the DELETE's target, not a scan
    days_before = {f"outbox_p{(TODAY + timedelta(days=n)).strftime('%Y%m%d')}" for n in range(3)}
    assert _scanned(migrated, PURGE_SQL, (cutoff, cutoff)) - {"outbox"} == {f"outbox_before_{stamp}", *days_before}
    # an order's history from its creation on: not the partitions before it
    month = TODAY.replace(day=1)
    history = _scanned(migrated, "SELECT * FROM order_status_history h WHERE h.order_id = %s AND h.at >= %s",
                       ("ord_1", TODAY))
    assert f"order_status_history_before_{month.strftime('%Y%m%d')}" not in history
    assert f"order_status_history_p{month.strftime('%Y%m')}" in history
    # one day of delivery attempts: its month's partition only
    attempts = _scanned(migrated, "SELECT * FROM delivery_attempts WHERE started_at >= %s AND started_at < %s",
                        (TODAY, TODAY + timedelta(days=1)))
    assert attempts == {f"delivery_attempts_p{month.strftime('%Y%m')}"}


def _names(dsn: str, table: str) -> set[str]:
    return {r[0] for r in _sql(dsn, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                    "WHERE i.inhparent = to_regclass(%s)", (table,))}


class _partitions:
    """``PostgresPartitions`` on a pool of ``dsn``, closed on exit."""

    def __init__(self, dsn: str, clock: FakeClock) -> None:
        self.dsn, self.clock = dsn, clock

    async def __aenter__(self) -> PostgresPartitions:
        self.resource = create_pool(self.dsn, minsize=1, maxsize=2)
        return PostgresPartitions(await self.resource.__anext__(), self.clock)

    async def __aexit__(self, *exc) -> None:
        await self.resource.aclose()
