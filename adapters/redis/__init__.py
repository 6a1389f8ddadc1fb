"""Redis adapters (redis.asyncio): cache, checkout sessions, rate limits, webhook dedup, Streams event bus.

Every key starts with a configurable prefix (default ``payport:``). Keys used:
``{prefix}{cache key}`` (``RedisCache``), ``{prefix}checkout:session:{id}``,
``{prefix}ratelimit:{policy}:{subject}``, ``{prefix}webhook:seen:{gateway}:{event_id}``,
``{prefix}events`` and ``{prefix}events:dead`` (streams). Each operation touches one key, so
the layout works unchanged on Redis Cluster (except ``delete_pattern``, which scans).
"""
from adapters.redis.cache import RedisCache
from adapters.redis.client import DEFAULT_PREFIX, create_redis
from adapters.redis.fallback import FailOpenRateLimiter, LocalFallbackCache, LocalFallbackSessions
from adapters.redis.rate_limit import RedisRateLimiter
from adapters.redis.sessions import RedisCheckoutSessionStore
from adapters.redis.streams import RedisStreamsEventBus
from adapters.redis.webhooks import RedisWebhookDedup

__all__ = [
    "DEFAULT_PREFIX",
    "FailOpenRateLimiter",
    "RedisCache",
    "RedisCheckoutSessionStore",
    "RedisRateLimiter",
    "RedisStreamsEventBus",
    "RedisWebhookDedup",
    "LocalFallbackCache",
    "LocalFallbackSessions",
    "create_redis",
]
