"""The security battery's fixtures: the real app factory with the real token lifetimes and rate
limits, each simulated client on an address of its own (``X-Forwarded-For`` from the trusted
test proxy 127.0.0.1), a fake clock, and every log line the battery makes kept for the final scan
(``test_zz_log_scan.py``).

``PAYPORT_SECURITY_FULL=1`` runs the long variants (schemathesis at 100+ cases per operation)."""
from __future__ import annotations

import itertools
import logging
import os
from datetime import UTC, datetime

import pytest
from dependency_injector import providers

import container as composition
from adapters.system import FakeClock
from entrypoints import logs
from entrypoints.http.app import create_app
from tests.e2e.api import Api
from tests.e2e import conftest as e2e

FULL = os.environ.get("PAYPORT_SECURITY_FULL") == "1"
ADMIN = ("admin@example.com", "admin-password-1")
SECRET = "battery-jwt-secret-" + "0" * 32
#: the battery's settings: cheap argon2 (the cost is not what is tested), everything else real
SETTINGS = {"argon2_memory_kib": 64, "argon2_time_cost": 1, "bootstrap_admin": ":".join(ADMIN),
            "jwt_secret": SECRET, "trusted_proxies": ["127.0.0.1"], "return_url_origins": ["https://shop.example"],
            "cors_origins": ["https://shop.example"]}
_addresses = itertools.count(1)
#: the Postgres + Redis fixtures of the end-to-end tests
e2e_dsn, real_backends = e2e.e2e_dsn, e2e.real_backends


class Logs(logging.Handler):
    """Every record of the whole battery, formatted as a log line would be (message and traceback).
    The test server's access log (``aiohttp.access``) is left out: ``payport serve`` runs without one
    (``access_log=None``), and it would only echo the fuzzers' own random query strings."""

    lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "aiohttp.access":
            return
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is kept raw
            line = repr(record.__dict__)
        Logs.lines.append(line)


@pytest.fixture(scope="session", autouse=True)
def every_log_line():
    handler = Logs(level=logging.DEBUG)
    handler.setFormatter(logs.json_formatter())  # the lines `payport serve` writes: JSON, with every extra
    handler.addFilter(logs.RequestContext())
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield Logs.lines
    root.removeHandler(handler)
    root.setLevel(before)


def address() -> dict:
    """Headers of a client on an address no other test client uses."""
    n = next(_addresses)
    return {"X-Forwarded-For": f"198.18.{n // 250}.{n % 250 + 1}"}


class Client(Api):
    """The e2e client, each account on an address of its own unless told otherwise."""

    async def user(self, name: str = "Ada", email: str | None = None, password: str = "correct horse battery",
                   at: dict | None = None) -> dict:
        where = at or address()
        email = email or f"sec{next(_addresses)}@example.com"
        await self.json("POST", "/api/v1/auth/register", where,
                        json={"email": email, "password": password, "name": name}, expect=201)
        tokens = await self.json("POST", "/api/v1/auth/login", where, json={"email": email, "password": password},
                                 expect=200)
        return {"Authorization": f"Bearer {tokens['access']}", **address()}

    async def guest(self) -> dict:
        body = await self.json("POST", "/api/v1/auth/guest", address(), expect=201)
        return {"Authorization": f"Bearer {body['access']}", **address()}

    async def admin(self) -> dict:
        tokens = await self.json("POST", "/api/v1/auth/login", address(),
                                 json={"email": ADMIN[0], "password": ADMIN[1]}, expect=200)
        return {"Authorization": f"Bearer {tokens['access']}", **address()}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def make_container(clock: FakeClock, overrides: dict | None = None, environ: dict | None = None):
    container = composition.build_container({**SETTINGS, **(overrides or {})}, environ=environ or {})
    container.core.clock.override(providers.Object(clock))
    return container


@pytest.fixture
def overrides(request) -> dict:
    marker = request.node.get_closest_marker("settings")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
async def client(aiohttp_client, clock, overrides) -> Client:
    """The embedded default (memory, sandbox, demo data) with the battery's settings."""
    return Client(await aiohttp_client(create_app(make_container(clock, overrides))))


@pytest.fixture
async def pg_client(aiohttp_client, clock, overrides, real_backends) -> Client:
    """The same on Postgres + Redis."""
    return Client(await aiohttp_client(create_app(make_container(clock, {**real_backends, **overrides}))))
