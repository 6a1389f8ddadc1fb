"""The composition root: the only place that knows which adapter serves which port.

With no configuration it serves the embedded default (memory adapters, sandbox gateway, demo data).
``DATABASE_URL`` switches storage to Postgres and ``REDIS_URL`` the cache, sessions, rate limits and
events to Redis.
"""
from __future__ import annotations

import inspect
import logging
import os
import secrets
from collections.abc import Mapping
from typing import Any

from dependency_injector import containers, providers

from adapters.demo import load_pricing
from adapters.gateways.base import http_session
from adapters.gateways.config import gateway_settings_from_env
from adapters.gateways.routing import build_registry
from adapters.gateways.sandbox import SandboxGateway
from adapters.memory.infrastructure import (
    InMemoryEventBus,
    LogNotifier,
    NoWebhookDedup,
    MemoryCache,
    MemoryCheckoutSessionStore,
    MemoryIdempotencyStore,
    MemoryRateLimiter,
    RuleFraudChecker,
)
from adapters.memory.maintenance import MemoryMaintenanceQueries
from adapters.memory.read_model import MemoryReadModel
from adapters.memory.store import MemoryStore
from adapters.memory.uow import MemoryUnitOfWorkFactory
from adapters.metrics import Metrics
from adapters.postgres.db import fetch as pg_fetch
from adapters.postgres.idempotency import PostgresIdempotencyStore
from adapters.postgres.maintenance import PostgresMaintenanceQueries
from adapters.postgres.outbox import OutboxRelay
from adapters.postgres.pool import create_pool
from adapters.postgres.read_model import PostgresReadModel
from adapters.postgres.uow import PostgresUnitOfWorkFactory
from adapters.redis import (
    FailOpenRateLimiter,
    LocalFallbackCache,
    LocalFallbackSessions,
    RedisCache,
    RedisCheckoutSessionStore,
    RedisRateLimiter,
    RedisStreamsEventBus,
    RedisWebhookDedup,
    create_redis,
)
from adapters.redis.tiered import TieredCache
from adapters.security import JwtTokens, ScryptHasher
from adapters.system import RandomIds, SystemClock
from application.auth import Auth
from application.caching import CacheAside
from application.addresses import Addresses
from application.cart import Carts
from application.catalog import Catalog
from application.checkout import Checkout
from application.maintenance import Maintenance
from application.notifications import Notifications
from application.orders import Orders
from application.payments.initiate import InitiatePayment
from application.payments.queries import Payments
from application.payments.refunds import Refunds
from application.payments.settle import PaymentSettlement
from application.payments.webhooks import Webhooks

log = logging.getLogger(__name__)

#: Per-endpoint limits (requests, window seconds), DESIGN.md §3. Override with PAYPORT_RATE_<NAME>="n/seconds".
RATE_LIMITS: dict[str, tuple[int, int]] = {
    "checkout_initiate": (10, 300), "checkout_pricing": (20, 60), "checkout_coupon": (10, 60),
    "checkout_confirm": (5, 300), "payment_initiate": (10, 60), "login_email": (5, 60), "login_ip": (60, 60),
    "register": (10, 60), "guest": (30, 60),
}
#: Limits that fall back to a strict in-process limit (instead of failing open) when Redis is down.
STRICT_RATE_POLICIES = ("login_email", "login_ip", "payment_initiate")
#: Cache TTLs in seconds, DESIGN.md §3. Override with PAYPORT_TTL_<NAME>.
CACHE_TTLS: dict[str, int] = {
    "gateway_config": 3600, "payment": 900, "payment_list": 900, "refund": 900, "order": 600,
    "order_list": 300, "product": 600, "categories": 900, "analytics": 600,
}


def parse_rate(variable: str, value: str) -> tuple[int, int]:
    """``"10/300"`` -> (10, 300): at most 10 requests per 300 s. Refuses what a limiter cannot keep."""
    count, _, window = value.partition("/")
    try:
        limit, seconds = int(count), int(window or 60)
    except ValueError:
        raise ValueError(f"{variable}={value!r}: expected COUNT/SECONDS, e.g. 10/300") from None
    if not (1 <= limit <= 1_000_000 and 1 <= seconds <= 86_400):
        raise ValueError(f"{variable}={value!r}: COUNT must be 1..1000000 and SECONDS 1..86400")
    return limit, seconds


def _number(environ: Mapping[str, str], variable: str, default: float, kind: type = float) -> Any:
    """``kind(environ[variable])``, or ``default`` when unset; a value that is not a number names
    its variable in the error."""
    raw = environ.get(variable)
    if raw is None:
        return kind(default)
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{variable}={raw!r}: expected {'a whole number' if kind is int else 'a number'}") from None


def settings_from_env(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    host = environ.get("PAYPORT_HOST", "127.0.0.1")
    port = _number(environ, "PAYPORT_PORT", 8080, int)
    rate_limits = dict(RATE_LIMITS)
    for name in RATE_LIMITS:
        if value := environ.get(f"PAYPORT_RATE_{name.upper()}"):
            rate_limits[name] = parse_rate(f"PAYPORT_RATE_{name.upper()}", value)
    ttls = {name: _number(environ, f"PAYPORT_TTL_{name.upper()}", ttl, int) for name, ttl in CACHE_TTLS.items()}
    return {
        "host": host, "port": port,
        "public_url": environ.get("PAYPORT_PUBLIC_URL", f"http://{host}:{port}"),
        "database_url": environ.get("DATABASE_URL") or None,
        "redis_url": environ.get("REDIS_URL") or None,
        "redis_prefix": environ.get("PAYPORT_REDIS_PREFIX", "payport:"),
        "event_bus": environ.get("PAYPORT_EVENT_BUS", "memory"),
        "local_cache_ttl": _number(environ, "PAYPORT_LOCAL_CACHE_TTL", 60),
        "local_cache_staleness": _number(environ, "PAYPORT_LOCAL_CACHE_STALENESS", 2),
        "jwt_secret": environ.get("PAYPORT_JWT_SECRET") or None,
        "sandbox_secret": environ.get("PAYPORT_SANDBOX_WEBHOOK_SECRET") or None,
        "bootstrap_admin": environ.get("PAYPORT_BOOTSTRAP_ADMIN") or None,
        "demo_data": environ.get("PAYPORT_DEMO_DATA", "auto"),
        "sandbox": environ.get("PAYPORT_SANDBOX", "auto"),
        "pricing_file": environ.get("PAYPORT_PRICING_FILE") or None,
        "checkout_session_ttl": _number(environ, "PAYPORT_CHECKOUT_SESSION_TTL", 1800),
        "scrypt_n": _number(environ, "PAYPORT_SCRYPT_N", 2**14, int),
        "pg_pool_min": _number(environ, "PAYPORT_PG_POOL_MIN", 0, int),
        "pg_pool_max": _number(environ, "PAYPORT_PG_POOL_MAX", 10, int),
        "pg_prepare": environ.get("PAYPORT_PG_PREPARE", "on") != "off",
        "refund_window_days": _number(environ, "PAYPORT_REFUND_WINDOW_DAYS", 30, int),
        "trusted_proxies": [p for p in environ.get("PAYPORT_TRUSTED_PROXIES", "").split(",") if p],
        "rate_limits": rate_limits,
        "ttls": ttls,
        "fraud_max_amount": {"NGN": 500_000_000, "USD": 1_000_000, "GHS": 5_000_000, "KES": 50_000_000},
    }


async def resolve(provider) -> Any:
    """A provider's value; providers downstream of an async Resource hand back an awaitable."""
    value = provider()
    return await value if inspect.isawaitable(value) else value


def _health_checks(storage: str, kv: str, cache, pool_provider) -> dict:
    """One probe per backing adapter; /health/ready runs them and names whichever fails."""
    async def postgres() -> None:
        await pg_fetch(await resolve(pool_provider), "SELECT 1")

    async def ok() -> None:
        return None

    return {"postgres" if storage == "postgres" else "memory_storage": postgres if storage == "postgres" else ok,
            "redis" if kv == "redis" else "memory_cache": lambda: cache.get("health")}


class Container(containers.DeclarativeContainer):
    config = providers.Configuration()

    metrics = providers.Singleton(Metrics)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(RandomIds, clock)
    # -- redis (REDIS_URL) ----------------------------------------------------------------------
    redis = providers.Resource(create_redis, url=config.redis_url)
    redis_bus_client = providers.Resource(create_redis, url=config.redis_url, socket_timeout=5.0)
    redis_pubsub = providers.Resource(create_redis, url=config.redis_url, socket_timeout=None)

    bus = providers.Selector(
        config.event_bus,
        memory=providers.Singleton(InMemoryEventBus),
        redis=providers.Singleton(RedisStreamsEventBus, redis_bus_client, prefix=config.redis_prefix,
                                  metrics=metrics),
    )

    # -- storage (DATABASE_URL selects postgres) ---------------------------------------------------
    memory_store = providers.Singleton(MemoryStore)
    pg_pool = providers.Resource(create_pool, dsn=config.database_url, minsize=config.pg_pool_min,
                                 maxsize=config.pg_pool_max)
    uow = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryUnitOfWorkFactory, memory_store, bus),
        postgres=providers.Singleton(PostgresUnitOfWorkFactory, pg_pool, bus, prepare=config.pg_prepare))
    read_model = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryReadModel, memory_store),
        postgres=providers.Singleton(PostgresReadModel, pg_pool))
    idempotency = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryIdempotencyStore, clock),
        postgres=providers.Singleton(PostgresIdempotencyStore, pg_pool, clock))
    maintenance_queries = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryMaintenanceQueries, memory_store),
        postgres=providers.Singleton(PostgresMaintenanceQueries, pg_pool))
    outbox_relay = providers.Singleton(OutboxRelay, pg_pool, bus)

    # -- cache, sessions, limits -------------------------------------------------------------------
    memory_cache = providers.Singleton(MemoryCache, clock)
    raw_cache = providers.Selector(
        config.kv, memory=memory_cache, redis=providers.Singleton(RedisCache, redis, prefix=config.redis_prefix))
    #: state that must outlive a Redis outage in this process (sandbox transactions)
    durable_kv = providers.Selector(
        config.kv, memory=memory_cache,
        redis=providers.Singleton(LocalFallbackCache, raw_cache, memory_cache, metrics))
    memory_sessions = providers.Singleton(MemoryCheckoutSessionStore, clock)
    sessions = providers.Selector(
        config.kv, memory=memory_sessions,
        redis=providers.Singleton(
            LocalFallbackSessions, providers.Singleton(RedisCheckoutSessionStore, redis, prefix=config.redis_prefix),
            memory_sessions, metrics))
    memory_rate_limiter = providers.Singleton(MemoryRateLimiter, clock)
    rate_limiter = providers.Selector(
        config.kv, memory=memory_rate_limiter,
        redis=providers.Singleton(
            FailOpenRateLimiter, primary=providers.Singleton(RedisRateLimiter, redis, prefix=config.redis_prefix),
            fallback=memory_rate_limiter, metrics=metrics, strict_policies=STRICT_RATE_POLICIES))
    #: what cached responses are read from: Redis behind an in-process tier (PAYPORT_LOCAL_CACHE_TTL)
    value_cache = providers.Selector(
        config.value_cache, memory=memory_cache, redis=raw_cache,
        tiered=providers.Singleton(TieredCache, raw_cache, redis_pubsub, prefix=config.redis_prefix,
                                   local_ttl=config.local_cache_ttl, staleness=config.local_cache_staleness))
    cache = providers.Singleton(
        CacheAside, value_cache, control=raw_cache,
        on_result=providers.Callable(lambda m: m.cache.record, metrics),
        on_error=providers.Callable(lambda m: lambda op: m.cache_errors.labels(op).inc(), metrics),
    )

    # -- security ----------------------------------------------------------------------------------
    hasher = providers.Singleton(ScryptHasher, n=config.scrypt_n)
    tokens = providers.Singleton(JwtTokens, secret=config.jwt_secret)
    fraud = providers.Singleton(RuleFraudChecker, max_amount=config.fraud_max_amount)
    notifier = providers.Singleton(LogNotifier)

    # -- gateways ----------------------------------------------------------------------------------
    sandbox = providers.Singleton(SandboxGateway, store=durable_kv, webhook_secret=config.sandbox_secret,
                                  public_url=config.public_url, clock=clock)
    environ = providers.Object(os.environ)
    http_session = providers.Resource(http_session)
    gateway_settings = providers.Singleton(gateway_settings_from_env, environ)
    gateways = providers.Singleton(
        build_registry, http_session, gateway_settings, metrics=metrics, clock=clock,
        extra=providers.Callable(lambda on, sandbox: {"sandbox": sandbox} if on else {}, config.sandbox_enabled, sandbox))

    # -- use cases ---------------------------------------------------------------------------------
    pricing = providers.Singleton(load_pricing, config.pricing_file)
    auth = providers.Singleton(Auth, uow, hasher, tokens, ids, clock)
    catalog = providers.Singleton(Catalog, uow, read_model, ids=ids, cache=cache)
    cart = providers.Singleton(Carts, uow, clock)
    addresses = providers.Singleton(Addresses, uow, ids, clock)
    checkout = providers.Singleton(
        Checkout, uow, sessions, clock, ids,
        shipping_rates=providers.Callable(lambda p: p[0], pricing),
        tax_rules=providers.Callable(lambda p: p[1], pricing), cache=cache,
        session_ttl=config.checkout_session_ttl)
    orders = providers.Singleton(Orders, uow, read_model, clock, ids,
                                 tax_rules=providers.Callable(lambda p: p[1], pricing), cache=cache)
    settlement = providers.Singleton(
        PaymentSettlement, uow, gateways, clock, ids, cache=cache,
        on_status=providers.Callable(lambda m: lambda g, s: m.payments.labels(g, s).inc(), metrics))
    initiate_payment = providers.Singleton(InitiatePayment, uow, gateways, fraud, clock, ids,
                                           public_url=config.public_url, cache=cache)
    payments = providers.Singleton(Payments, uow, read_model, settlement)
    refunds = providers.Singleton(Refunds, uow, read_model, gateways, clock, ids,
                                  customer_window_days=config.refund_window_days, cache=cache)
    webhook_dedup = providers.Selector(
        config.kv, memory=providers.Singleton(NoWebhookDedup),
        redis=providers.Singleton(RedisWebhookDedup, redis, prefix=config.redis_prefix, claim_ttl=60))
    webhooks = providers.Singleton(
        Webhooks, uow, gateways, settlement, refunds, clock, ids, dedup=webhook_dedup,
        on_outcome=providers.Callable(lambda m: lambda g, o: m.webhooks.labels(g, o).inc(), metrics))
    notifications = providers.Singleton(Notifications, uow, read_model, ids, notifier)
    maintenance = providers.Singleton(Maintenance, uow, maintenance_queries, settlement, refunds, webhooks, gateways,
                                      clock, ids)

    health_checks = providers.Callable(_health_checks, config.storage, config.kv, raw_cache, pg_pool.provider)


async def start(container: Container) -> None:
    """Start the resources the configuration selects (pools, clients, the HTTP session)."""
    await container.http_session.init()
    config = container.config()
    if config["database_url"]:
        await container.pg_pool.init()
    if config["redis_url"]:
        await container.redis.init()
        if config["event_bus"] == "redis":
            await container.redis_bus_client.init()
        if config["value_cache"] == "tiered":
            await container.redis_pubsub.init()
            await (await resolve(container.value_cache)).start()


async def stop(container: Container) -> None:
    if container.config()["value_cache"] == "tiered":
        await (await resolve(container.value_cache)).stop()
    result = container.shutdown_resources()
    if result is not None:
        await result


def build_container(overrides: Mapping[str, Any] | None = None,
                    environ: Mapping[str, str] = os.environ) -> Container:
    """A container configured from the environment, then ``overrides`` (tests)."""
    settings = settings_from_env(environ)
    settings.update(overrides or {})
    if not settings["jwt_secret"]:
        settings["jwt_secret"] = secrets.token_urlsafe(48)
        settings["ephemeral_jwt_secret"] = True
    settings["kv"] = "redis" if settings["redis_url"] else "memory"
    settings["value_cache"] = ("memory" if not settings["redis_url"] else
                               "tiered" if settings["local_cache_ttl"] > 0 else "redis")
    settings["storage"] = "postgres" if settings["database_url"] else "memory"
    # the sandbox moves no money: on by default only on the embedded default (no DATABASE_URL)
    settings["sandbox_enabled"] = settings["sandbox"] == "on" or (
        settings["sandbox"] == "auto" and not settings["database_url"])
    if not settings["sandbox_secret"]:
        settings["sandbox_secret"] = secrets.token_urlsafe(32)
    container = Container()
    container.config.from_dict(settings)
    container.environ.override(providers.Object(environ))
    return container
