"""The Redis client as a dependency-injector ``providers.Resource`` (one pool per app, closed on shutdown)."""
from __future__ import annotations

from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from adapters.redis import lean

DEFAULT_PREFIX = "payport:"


async def create_redis(
    url: str,
    *,
    socket_timeout: float = 0.5,
    connect_timeout: float = 0.5,
    health_check_interval: int = 15,
    retries: int = 1,
    client_name: str | None = "payport",
) -> AsyncIterator[Redis]:
    """Yield a ``redis.asyncio.Redis`` for ``url`` (``redis://host:port/db``, ``rediss://`` for TLS).

    Timeouts are short on purpose: when Redis is slow or down, callers (``CacheAside``, the ``LocalFallback*`` wrappers,
    ``FailOpenRateLimiter``) must learn it in well under a second and fall back, not hang the
    request. redis-py's default retry policy (10 retries, backoff up to 1 s) is replaced by
    ``retries`` quick retries, enough to survive one dropped pooled connection. No PING at
    start-up: the service must start (and serve from the database) while Redis is down.

    Blocking reads (the Streams bus) need ``socket_timeout`` above their block time; give the
    bus its own resource with a longer ``socket_timeout`` if it should block longer than
    ``socket_timeout``.
    """
    client = Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=connect_timeout,
        health_check_interval=health_check_interval,
        retry=Retry(ExponentialWithJitterBackoff(cap=0.05, base=0.01), retries),
        client_name=client_name,
    )
    try:
        yield client
    finally:
        await lean.close(client)  # the hot paths' own connections (adapters/redis/lean.py)
        await client.aclose()
