"""Server-side prepared statements for the unit of work (adapters/postgres/prepared.py)."""
from __future__ import annotations

import pg_builders as b
import psycopg2.errors
import pytest

from adapters.postgres import prepared
from adapters.postgres.pool import create_pool
from adapters.postgres.uow import PostgresUnitOfWork
from application.errors import ConcurrencyConflict
from tests import roundtrips


def test_placeholders_become_numbered_parameters():
    named = prepared.parse("UPDATE t SET a = %(a)s, b = %(b)s WHERE id = %(id)s AND a = %(a)s")
    assert named.text == "UPDATE t SET a = $1, b = $2 WHERE id = $3 AND a = $1"
    assert named.arguments({"a": 1, "b": 2, "id": "x", "unused": 0}) == [1, 2, "x"]
    positional = prepared.parse("SELECT x FROM t WHERE a = %s AND b = ANY(%s) AND c LIKE 'a%%'")
    assert positional.text == "SELECT x FROM t WHERE a = $1 AND b = ANY($2) AND c LIKE 'a%'"
    assert positional.arguments(["p", ["q"]]) == ["p", ["q"]]
    assert prepared.parse("SELECT 1 WHERE a = %s") == prepared.parse("SELECT 1 WHERE a = %s")


@pytest.mark.parametrize("sql", ["INSERT INTO t VALUES (%s); COMMIT", "SELECT '5% off' WHERE a = %s",
                                 "SELECT %s, %(named)s"])
def test_what_is_not_a_single_plain_statement_is_left_alone(sql):
    assert prepared.parse(sql) is None


@pytest.fixture
async def one_connection(pg_dsn, pg_pool):  # pg_pool empties the tables
    resource = create_pool(pg_dsn, minsize=1, maxsize=1)
    pool = await resource.__anext__()
    yield pool
    await resource.aclose()


async def _prepared_here(uow) -> list[str]:
    rows = await uow.session.fetch("SELECT name FROM pg_prepared_statements ORDER BY name")
    return [r["name"] for r in rows]


async def _stored_order(pool, bus) -> None:
    async with PostgresUnitOfWork(pool, bus) as uow:
        await uow.orders.add(b.order())
        await uow.commit()


async def test_a_statement_is_prepared_once_per_connection_and_outlives_a_rollback(one_connection, pg_backend):
    pool, bus = one_connection, pg_backend.bus
    await _stored_order(pool, bus)
    async with PostgresUnitOfWork(pool, bus) as uow:
        order = await uow.orders.lock("ord_1")
        order.cancel(b.at(1))
        await uow.orders.save(order)
        before = await _prepared_here(uow)
        # rolled back: the statements stay prepared on the server, and this module knows it
    async with PostgresUnitOfWork(pool, bus) as uow:
        assert (await uow.orders.lock("ord_1")).status.value == "pending"
        assert await _prepared_here(uow) == before and before
        assert set(before) == prepared.known(uow.session._conn)


async def test_a_failed_statement_or_preparation_leaves_the_connection_usable(one_connection, pg_backend):
    pool, bus = one_connection, pg_backend.bus
    with pytest.raises(psycopg2.errors.DivisionByZero):
        async with PostgresUnitOfWork(pool, bus) as uow:
            await uow.session.execute("SELECT 1 / %s AS x", [0])  # prepared, then EXECUTE fails: rolled back
    with pytest.raises(psycopg2.errors.IndeterminateDatatype):
        async with PostgresUnitOfWork(pool, bus) as uow:
            await uow.session.execute("SELECT %s IS NULL AS x", ["?"])  # PREPARE itself fails: nothing is remembered
    async with PostgresUnitOfWork(pool, bus) as uow:
        assert await uow.session.fetch("SELECT 1 / %s AS x", [1]) == [{"x": 1}]
        names = await _prepared_here(uow)
        assert names == [prepared.parse("SELECT 1 / %s AS x").name] == sorted(prepared.known(uow.session._conn))


async def test_with_preparing_off_statements_go_as_plain_text(one_connection, pg_backend):
    import container
    assert container.settings_from_env({"PAYPORT_PG_PREPARE": "off"})["pg_prepare"] is False
    assert container.settings_from_env({})["pg_prepare"] is True
    async with PostgresUnitOfWork(one_connection, pg_backend.bus, prepare=False) as uow:
        await uow.orders.add(b.order())
        await uow.commit()
    async with PostgresUnitOfWork(one_connection, pg_backend.bus, prepare=False) as uow:
        assert (await uow.orders.get("ord_1")).id == "ord_1"
        assert await _prepared_here(uow) == []


async def test_a_deferred_write_goes_ahead_of_the_next_statement_and_never_after_a_rollback(one_connection, pg_backend):
    pool, bus = one_connection, pg_backend.bus
    async with PostgresUnitOfWork(pool, bus) as uow:
        uow.session.defer("INSERT INTO categories (slug, name) VALUES (%s, %s)", ["kept", "10% off"])
        with roundtrips.counting() as seen:  # in the read's round trip, ahead of it
            assert await uow.session.fetch("SELECT slug FROM categories") == [{"slug": "kept"}]
        assert seen.counts()["statements"] == 1, seen.sql
        await uow.commit()
    async with PostgresUnitOfWork(pool, bus) as uow:
        uow.session.defer("INSERT INTO categories (slug, name) VALUES (%s, %s)", ["dropped", "x"])
        # a plain read carrying a deferred write begins the transaction: the write is not autocommitted
        assert await uow.session.fetch("SELECT count(*) AS n FROM categories") == [{"n": 2}]
    async with PostgresUnitOfWork(pool, bus) as uow:
        uow.session.defer("INSERT INTO categories (slug, name) VALUES (%s, %s)", ["last", "y"])
        with roundtrips.counting() as seen:
            await uow.commit()  # with nothing after it, it goes with the COMMIT
        assert seen.counts()["statements"] == 1, seen.sql
    async with PostgresUnitOfWork(pool, bus) as uow:
        assert await uow.session.fetch("SELECT slug FROM categories ORDER BY slug") == [{"slug": "kept"},
                                                                                       {"slug": "last"}]


async def test_a_save_of_a_row_locked_as_loaded_costs_no_round_trip_and_is_seen_next(one_connection, pg_backend):
    pool, bus = one_connection, pg_backend.bus
    await _stored_order(pool, bus)
    async with PostgresUnitOfWork(pool, bus) as uow:
        order = await uow.orders.lock("ord_1")
        order.fail(b.at(1))
        with roundtrips.counting() as seen:
            await uow.orders.save(order)
        assert seen.statements == 0, seen.sql
        row = await uow.session.fetch("SELECT status, version FROM orders WHERE id = %s", ["ord_1"])
        assert row == [{"status": "failed", "version": order.version}]  # ahead of the read, in its trip
        order.customer_name = "seen twice"
        await uow.orders.save(order)  # still locked as loaded: deferred again, version kept in step
        await uow.commit()
    async with PostgresUnitOfWork(pool, bus) as uow:
        stored = await uow.orders.get("ord_1")
        assert (stored.status.value, stored.customer_name, stored.version) == ("failed", "seen twice", order.version)
        assert stored.status_history[-1].to_status == "failed"
    async with PostgresUnitOfWork(pool, bus) as uow:
        unchanged = await uow.orders.lock("ord_1")
        with roundtrips.counting() as seen:
            await uow.orders.save(unchanged)  # as it was loaded: nothing to write, now or with the commit
            await uow.commit()
        assert [sql for sql in seen.sql if "UPDATE" in sql or "INSERT" in sql] == [], seen.sql


async def test_a_row_changed_elsewhere_between_a_plain_read_and_its_lock_still_conflicts(pg_pool, pg_backend):
    """Loaded plain and changed here, then locked after another writer moved it on: the object is
    not the locked row (it is not refreshed), so its save keeps the version check and fails."""
    bus = pg_backend.bus
    async with PostgresUnitOfWork(pg_pool, bus) as uow:
        await uow.orders.add(b.order())
        await uow.commit()
    async with PostgresUnitOfWork(pg_pool, bus) as mine:
        order = await mine.orders.get("ord_1")
        order.customer_name = "mine"
        async with PostgresUnitOfWork(pg_pool, bus) as theirs:
            other = await theirs.orders.lock("ord_1")
            other.fail(b.at(1))
            await theirs.orders.save(other)
            await theirs.commit()
        assert await mine.orders.lock("ord_1") is order  # locked now, but as this unit of work changed it
        with pytest.raises(ConcurrencyConflict):
            await mine.orders.save(order)
    async with PostgresUnitOfWork(pg_pool, bus) as uow:
        stored = await uow.orders.get("ord_1")
        assert (stored.status.value, stored.customer_name) == ("failed", b.order().customer_name)


async def test_a_schema_change_under_a_prepared_statement_is_a_retryable_conflict(one_connection, pg_backend):
    pool, bus = one_connection, pg_backend.bus
    async with PostgresUnitOfWork(pool, bus) as uow:
        await uow.session.execute("CREATE TABLE IF NOT EXISTS prepared_probe (a int)")
        await uow.commit()
    async with PostgresUnitOfWork(pool, bus) as uow:
        assert await uow.session.fetch("SELECT a FROM prepared_probe WHERE a = %s", [1]) == []
    async with PostgresUnitOfWork(pool, bus) as uow:  # a migration elsewhere
        await uow.session.execute("ALTER TABLE prepared_probe ALTER COLUMN a TYPE bigint")
        await uow.commit()
    try:
        with pytest.raises(ConcurrencyConflict):
            async with PostgresUnitOfWork(pool, bus) as uow:
                await uow.session.fetch("SELECT a FROM prepared_probe WHERE a = %s", [1])
        async with PostgresUnitOfWork(pool, bus) as uow:  # a fresh connection: prepared anew, works
            assert await uow.session.fetch("SELECT a FROM prepared_probe WHERE a = %s", [1]) == []
    finally:
        async with PostgresUnitOfWork(pool, bus) as uow:
            await uow.session.execute("DROP TABLE prepared_probe")
            await uow.commit()
