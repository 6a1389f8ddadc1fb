"""DATABASE_REPLICA_URL (issue 20): the admin lists and the analytics read the replica; money paths,
details and cached reads read the primary; no replica, and they all read the primary.

The "replica" is a snapshot of the primary's tables (a schema of copies, the search_path of the
replica's role) reached through a role whose every transaction is read-only
(``default_transaction_read_only``), so it both lags (what is paid after the snapshot is not in it)
and refuses writes: an answer that shows the snapshot's
figures came from the replica, one that shows the newer payment came from the primary."""
from __future__ import annotations

import contextlib
import uuid

import psycopg2
import pytest
from aiohttp.test_utils import TestClient, TestServer
from dependency_injector import providers
from redis.asyncio import Redis

import container as composition
from adapters.system import FakeClock
from entrypoints.http.app import create_app
from tests.databases import SUFFIX, truncate_all
from tests.e2e.api import Api
from tests.e2e.conftest import E2E_REDIS_URL, FAST

SNAPSHOT = "replica_snapshot"
ROLE = f"payport_replica_reader{SUFFIX}"
SUMMARY = "/api/v1/admin/analytics/summary?from=2026-01-01&to=2026-01-01&currency=USD"


def _sql(dsn: str, *statements: str) -> list[tuple]:
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def take_snapshot(dsn: str) -> str:
    """A copy of every table of the primary as of now, in a schema the replica's role reads (its
    search_path), and that role's DSN: the "replica", lagging from this instant on."""
    tables = [r[0] for r in _sql(dsn, "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                      "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition")]
    _sql(dsn, f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE", f"CREATE SCHEMA {SNAPSHOT}",
         *(f'CREATE TABLE {SNAPSHOT}."{t}" AS SELECT * FROM public."{t}"' for t in tables),
         f'GRANT USAGE ON SCHEMA {SNAPSHOT} TO "{ROLE}"',
         # every privilege: what stops a write through the replica's DSN is its read-only session, as on a standby
         f'GRANT ALL ON ALL TABLES IN SCHEMA {SNAPSHOT} TO "{ROLE}"',
         f'ALTER ROLE "{ROLE}" IN DATABASE "{psycopg2.extensions.parse_dsn(dsn)["dbname"]}" '
         f"SET search_path = {SNAPSHOT}")
    params = psycopg2.extensions.parse_dsn(dsn)
    params["user"] = ROLE
    return psycopg2.extensions.make_dsn(**params)


@pytest.fixture
def primary(e2e_dsn) -> str:
    truncate_all(e2e_dsn)
    _sql(e2e_dsn, f"""DO $$ BEGIN
                        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
                          CREATE ROLE "{ROLE}" LOGIN;
                        END IF;
                      END $$""", f'ALTER ROLE "{ROLE}" SET default_transaction_read_only = on')
    yield e2e_dsn
    _sql(e2e_dsn, f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE")


@contextlib.asynccontextmanager
async def serving(primary: str, replica: str | None = None):
    """The app on ``primary`` (and ``replica``), with a Redis prefix of its own (no cache shared)."""
    prefix = f"payport-replica:{uuid.uuid4().hex[:10]}:"
    settings = {**FAST, "database_url": primary, "database_replica_url": replica, "redis_url": E2E_REDIS_URL,
                "redis_prefix": prefix, "sandbox": "on", "demo_data": "on"}
    c = composition.build_container(settings, environ={})
    c.core.clock.override(providers.Object(FakeClock()))  # 2026-01-01 12:00 UTC
    client = TestClient(TestServer(create_app(c)))
    await client.start_server()
    try:
        api = Api(client)
        tokens = await api.json("POST", "/api/v1/auth/login",
                                json={"email": "admin@example.com", "password": "admin-password-1"}, expect=200)
        yield api, c, {"Authorization": f"Bearer {tokens['access']}"}
    finally:
        await client.close()
        redis = Redis.from_url(E2E_REDIS_URL)
        keys = [k async for k in redis.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def paid_order(api: Api) -> tuple[dict, dict]:
    h = await api.user()
    order = await api.order(h, items=(("US-BOOK-DDD", 1),), ship_to=None)
    payment = await api.initiate(h, order["id"], f"k-{order['id']}")
    assert (await api.sandbox(payment, "approve"))["status"] == "succeeded"
    return order, h


async def test_reports_read_the_replica_and_everything_else_the_primary(primary):
    async with serving(primary) as (api, _, admin):
        first, _ = await paid_order(api)
    replica = take_snapshot(primary)  # the replica, as of now
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):  # the replica's DSN cannot write
        _sql(replica, "INSERT INTO categories (slug, name) VALUES ('x', 'X')")
    assert _sql(replica, "SHOW search_path") == [(SNAPSHOT,)]

    async with serving(primary, replica) as (api, c, admin):
        assert await composition.resolve(c.storage.report_pool) is not await composition.resolve(c.storage.pg_pool)
        second, customer = await paid_order(api)  # a money path: written (and decided) on the primary
        # the reports: the replica's figures (the second payment is not in the snapshot)
        summary = await api.json("GET", SUMMARY, admin, expect=200)
        assert summary["orders"]["paid"] == 1 and summary["revenue"]["captured"] == first["total"]
        listed = await api.json("GET", "/api/v1/admin/orders?limit=100", admin, expect=200)
        assert [o["id"] for o in listed["results"]] == [first["id"]]
        payments = await api.json("GET", "/api/v1/admin/payments?limit=100", admin, expect=200)
        assert [p["order_id"] for p in payments["results"]] == [first["id"]]
        # the rest: the primary (a detail, the review queue, the customer's cached list and detail)
        detail = await api.json("GET", f"/api/v1/admin/orders/{second['id']}", admin, expect=200)
        assert detail["status"] == "paid" and len(detail["payments"]) == 1
        mine = await api.json("GET", "/api/v1/payment/orders", customer, expect=200)
        assert [o["id"] for o in mine["results"]] == [second["id"]]
        assert (await api.json("GET", f"/api/v1/payment/orders/{second['id']}", customer, expect=200))["status"] == "paid"
        # the replica's pool is a session of its own, on the snapshot, as the read-only role
        sessions = _sql(primary, "SELECT usename FROM pg_stat_activity WHERE application_name = 'payport-replica'")
        assert (ROLE,) in sessions

    async with serving(primary) as (api, c, admin):  # no replica: the reports read the primary
        assert await composition.resolve(c.storage.report_pool) is await composition.resolve(c.storage.pg_pool)
        summary = await api.json("GET", SUMMARY, admin, expect=200)
        assert summary["orders"]["paid"] == 2
        listed = await api.json("GET", "/api/v1/admin/orders?limit=100", admin, expect=200)
        assert {o["id"] for o in listed["results"]} == {first["id"], second["id"]}


def test_a_replica_without_a_primary_is_refused():
    from entrypoints.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="DATABASE_REPLICA_URL needs DATABASE_URL"):
        load_settings({"DATABASE_REPLICA_URL": "postgresql://reader@127.0.0.1/payport"})
    shown = load_settings({"DATABASE_URL": "postgresql://app:pw1@127.0.0.1/payport",
                           "DATABASE_REPLICA_URL": "postgresql://reader:pw2@replica/payport",
                           "PAYPORT_JWT_SECRET": "x" * 40}).describe()["storage"]
    assert shown["replica_url"] == "postgresql://reader:***@replica/payport" and "pw2" not in str(shown)

