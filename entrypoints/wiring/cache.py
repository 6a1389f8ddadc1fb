"""Cache: the Redis clients (``REDIS_URL``), the response cache (tiered: an in-process tier in front
of Redis), checkout sessions, rate limits and webhook dedup, each falling back to memory."""
from __future__ import annotations

from collections.abc import AsyncIterator

from dependency_injector import containers, providers
from redis.asyncio import Redis

from adapters.memory.infrastructure import MemoryCache, MemoryCheckoutSessionStore, MemoryRateLimiter, NoWebhookDedup
from adapters.redis import (
    FailOpenRateLimiter,
    LocalFallbackCache,
    LocalFallbackSessions,
    RedisCache,
    RedisCheckoutSessionStore,
    RedisRateLimiter,
    RedisWebhookDedup,
    create_redis,
)
from adapters.redis.codec import decode_session, encode_session
from adapters.redis.tiered import TieredCache
from application.caching import CacheAside
from application.ports import Cache as CachePort
from entrypoints.wiring.resources import is_, opened

#: Limits that fall back to a strict in-process limit (instead of failing open) when Redis is down.
STRICT_RATE_POLICIES = ("login_email", "login_ip", "login_email_ceiling", "payment_initiate", "payment_initiate_ip",
                        "order_create", "order_create_ip", "refund_create", "refund_create_ip", "webhook_store_ip",
                        "webhook_store_reference")


async def tiered_cache(enabled: bool, shared: CachePort, pubsub: Redis | None, **options) -> AsyncIterator:
    """The in-process tier, listening for invalidations while the app runs (None when off)."""
    if not enabled:
        yield None
        return
    cache = TieredCache(shared, pubsub, **options)
    await cache.start()
    try:
        yield cache
    finally:
        await cache.stop()


class Cache(containers.DeclarativeContainer):
    exports = {"cache": "cache", "rate_limiter": "rate_limiter"}

    config = providers.Configuration()
    core = providers.DependenciesContainer()

    redis = providers.Resource(opened, config.redis_url, create_redis, url=config.redis_url)
    redis_bus_client = providers.Resource(opened, providers.Callable(is_, config.event_bus, "redis"), create_redis,
                                          url=config.redis_url, socket_timeout=5.0)
    redis_pubsub = providers.Resource(opened, providers.Callable(is_, config.value_cache, "tiered"), create_redis,
                                      url=config.redis_url, socket_timeout=None)

    memory_cache = providers.Singleton(MemoryCache, core.clock)
    raw_cache = providers.Selector(
        config.kv, memory=memory_cache, redis=providers.Singleton(RedisCache, redis, prefix=config.redis_prefix))
    #: state that must outlive a Redis outage in this process (sandbox transactions)
    durable_kv = providers.Selector(
        config.kv, memory=memory_cache,
        redis=providers.Singleton(LocalFallbackCache, raw_cache, memory_cache, core.metrics))
    memory_sessions = providers.Singleton(MemoryCheckoutSessionStore, core.clock, encode=encode_session,
                                          decode=decode_session)  # bytes, not deep copies (issue 20's profile)
    sessions = providers.Selector(
        config.kv, memory=memory_sessions,
        redis=providers.Singleton(
            LocalFallbackSessions, providers.Singleton(RedisCheckoutSessionStore, redis, prefix=config.redis_prefix),
            memory_sessions, core.metrics))
    memory_rate_limiter = providers.Singleton(MemoryRateLimiter, core.clock)
    rate_limiter = providers.Selector(
        config.kv, memory=memory_rate_limiter,
        redis=providers.Singleton(
            FailOpenRateLimiter, primary=providers.Singleton(RedisRateLimiter, redis, prefix=config.redis_prefix),
            fallback=memory_rate_limiter, metrics=core.metrics, strict_policies=STRICT_RATE_POLICIES))
    webhook_dedup = providers.Selector(
        config.kv, memory=providers.Singleton(NoWebhookDedup),
        redis=providers.Singleton(RedisWebhookDedup, redis, prefix=config.redis_prefix, claim_ttl=60))

    #: what cached responses are read from: Redis behind an in-process tier (PAYPORT_LOCAL_CACHE_TTL)
    tiered = providers.Resource(tiered_cache, providers.Callable(is_, config.value_cache, "tiered"), raw_cache,
                                redis_pubsub, prefix=config.redis_prefix, local_ttl=config.local_cache_ttl,
                                staleness=config.local_cache_staleness)
    value_cache = providers.Selector(config.value_cache, memory=memory_cache, redis=raw_cache, tiered=tiered)
    cache = providers.Singleton(
        CacheAside, value_cache, control=raw_cache,
        on_result=providers.Callable(lambda m: m.cache.record, core.metrics),
        on_error=providers.Callable(lambda m: lambda op: m.cache_errors.labels(op).inc(), core.metrics),
        # Redis can lose an invalidation: with Postgres, each is journaled with its commit (replayed)
        journaled=providers.Callable(lambda kv, storage: kv == "redis" and storage == "postgres",
                                     config.kv, config.storage),
        ids=core.ids, clock=core.clock,
    )
    health_check = providers.Callable(lambda kv, cache: ("redis" if kv == "redis" else "memory_cache",
                                                         lambda: cache.get("health")), config.kv, raw_cache)
