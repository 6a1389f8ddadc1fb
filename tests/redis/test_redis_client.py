"""``create_redis``: short timeouts, few retries, closed when the resource is shut down."""
from __future__ import annotations

import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from adapters.redis import create_redis

pytestmark = pytest.mark.redis


async def test_resource_yields_a_client_with_short_timeouts_and_closes_it(prefix):
    gen = create_redis("redis://127.0.0.1:6379/15")
    client = await gen.__anext__()
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 0.5 and kwargs["socket_connect_timeout"] == 0.5
    assert kwargs["health_check_interval"] > 0
    assert kwargs["retry"].get_retries() == 1
    assert await client.ping()
    await client.set(f"{prefix}probe", b"1", px=1000)
    with pytest.raises(StopAsyncIteration):
        await gen.__anext__()  # the Resource's shutdown path
    assert not client.connection_pool._in_use_connections
    assert all(not c.is_connected for c in client.connection_pool._available_connections)


async def test_dead_server_fails_fast_instead_of_hanging(client_factory):
    client = await client_factory("redis://127.0.0.1:1/0", socket_timeout=0.5, connect_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RedisConnectionError):
        await client.get("anything")
    assert time.monotonic() - started < 1.5
