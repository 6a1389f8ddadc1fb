"""Fixtures for the Redis adapter tests: a real Redis (DB 15), a unique key prefix per test.

Redis unreachable => the tests error out (a failed PING), they never skip. Only keys under the
test's own prefix are deleted afterwards, so parallel runs and other suites are left alone.
"""
from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from adapters.redis.cache import glob_escape
from adapters.redis.client import create_redis
from adapters.system import FakeClock

REDIS_URL = os.environ.get("PAYPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: "Redis is down"


async def open_client(url: str = REDIS_URL, **kwargs) -> tuple[Redis, AsyncIterator[Redis]]:
    """A client made the way the app makes it (``create_redis``), plus its generator to close."""
    gen = create_redis(url, **{"socket_timeout": 2.0, "connect_timeout": 1.0, **kwargs})
    return await gen.__anext__(), gen


@pytest.fixture
def prefix() -> str:
    return f"payport-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def client_factory(prefix: str) -> AsyncIterator[Callable]:
    """Opens clients (one per simulated process); afterwards deletes the test's keys and closes them."""
    gens = []

    async def make(url: str = REDIS_URL, **kwargs) -> Redis:
        client, gen = await open_client(url, **kwargs)
        gens.append(gen)
        return client

    yield make
    cleaner, gen = await open_client()
    gens.append(gen)
    try:
        keys = [k async for k in cleaner.scan_iter(match=glob_escape(prefix) + "*", count=1000)]
        if keys:
            await cleaner.unlink(*keys)
    finally:
        for gen in gens:
            await gen.aclose()


@pytest.fixture
async def redis_client(client_factory: Callable) -> Redis:
    client = await client_factory()
    await client.ping()  # fail loudly, never skip, when Redis is not there
    return client


class Harness:
    """Moves time for an adapter: the FakeClock for memory ones, real sleeping for Redis ones."""

    def __init__(self, kind: str, clock: FakeClock | None = None) -> None:
        self.kind = kind
        self.clock = clock

    async def advance(self, seconds: float) -> None:
        if self.clock is not None:
            self.clock.advance(seconds)
        else:
            await asyncio.sleep(seconds)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def kind(request: pytest.FixtureRequest) -> str:
    """Runs a contract test once per adapter: in-process memory, then Redis."""
    return request.param


@pytest.fixture
def harness(kind: str) -> Harness:
    return Harness(kind, FakeClock() if kind == "memory" else None)


@pytest.fixture
def redis_for(request: pytest.FixtureRequest, kind: str) -> Redis | None:
    """The test's Redis client when ``kind`` is redis (memory tests never connect)."""
    return request.getfixturevalue("redis_client") if kind == "redis" else None


@pytest.fixture
async def dead_redis(client_factory: Callable) -> Redis:
    """A client whose server is down (nothing listens on its port), with the app's timeouts."""
    return await client_factory(DEAD_REDIS_URL, socket_timeout=0.5, connect_timeout=0.5)
