"""End-to-end fixtures: the real app factory, on the embedded default and on Postgres + Redis.

A test module opts into both backends with ``BACKENDS = ("memory", "postgres")``; modules that
inspect the memory store directly stay on memory.
"""
from __future__ import annotations

import os
import uuid

import pytest
from dependency_injector import providers
from redis.asyncio import Redis

import container as composition
from adapters.system import FakeClock
from container import RATE_LIMITS
from entrypoints.http.app import create_app
from tests.databases import SUFFIX, TEST_DSN, prepare_database, truncate_all, with_dbname
from tests.e2e.api import Api

#: the per-IP limits (and the per-user refund and order limits) of issue 16, out of the way of tests
#: whose many users, or many parallel writes, all come from the test client's one address
#: (tests/security checks the real ones)
ONE_ADDRESS = {policy: (100_000, 60) for policy in (
    "checkout_initiate_ip", "checkout_pricing_ip", "checkout_coupon_ip", "checkout_confirm_ip", "payment_initiate_ip",
    "order_create", "order_create_ip", "refund_create", "refund_create_ip", "payment_callback_ip", "sandbox_ip")}
FAST = {"scrypt_n": 2**10, "argon2_memory_kib": 64, "argon2_time_cost": 1,
        "bootstrap_admin": "admin@example.com:admin-password-1",
        # the tests' shop, where return_url sends customers back
        "return_url_origins": ["https://shop.example"],
        # tokens are timed by the clock port: tests that move a fake clock by hours keep their tokens
        # (tests/security sets the real lifetimes)
        "access_token_ttl": 2 * 86400,
        "rate_limits": ONE_ADDRESS}
E2E_REDIS_URL = os.environ.get("PAYPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", getattr(metafunc.module, "BACKENDS", ("memory",)))


@pytest.fixture(scope="session")
def e2e_dsn() -> str:
    return prepare_database(with_dbname(TEST_DSN, f"payport_e2e{SUFFIX}"))


@pytest.fixture
async def real_backends(request, e2e_dsn):
    """Postgres (emptied) and a Redis key prefix of this test's own (deleted afterwards)."""
    truncate_all(e2e_dsn)
    prefix = f"payport-e2e:{uuid.uuid4().hex[:10]}:"
    yield {"database_url": e2e_dsn, "redis_url": E2E_REDIS_URL, "redis_prefix": prefix,
           "sandbox": "on", "demo_data": "on"}
    client = Redis.from_url(E2E_REDIS_URL)
    keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def backend() -> str:
    return "memory"


@pytest.fixture
def settings(request, backend) -> dict:
    """FAST plus the backend's settings plus whatever a test asks for with ``@pytest.mark.settings``."""
    marker = request.node.get_closest_marker("settings")
    extra = request.getfixturevalue("real_backends") if backend == "postgres" else {}
    asked = dict(marker.kwargs) if marker else {}
    if "rate_limits" in asked:  # a test's own limits, over the defaults and ONE_ADDRESS
        asked["rate_limits"] = {**ONE_ADDRESS, **{k: v for k, v in asked["rate_limits"].items()
                                                  if RATE_LIMITS.get(k) != tuple(v)}}
    return {**FAST, **extra, **asked}


@pytest.fixture
def container(settings):
    return composition.build_container(settings, environ={})


@pytest.fixture
async def api(aiohttp_client, container) -> Api:
    return Api(await aiohttp_client(create_app(container)))


@pytest.fixture
async def admin(api: Api) -> dict:
    tokens = await api.json("POST", "/api/v1/auth/login",
                            json={"email": "admin@example.com", "password": "admin-password-1"}, expect=200)
    return {"Authorization": f"Bearer {tokens['access']}"}


@pytest.fixture
def clock(container) -> FakeClock:
    """A clock the test moves (request it before ``api``, so the app is built on it)."""
    fake = FakeClock()
    container.core.clock.override(providers.Object(fake))
    return fake
