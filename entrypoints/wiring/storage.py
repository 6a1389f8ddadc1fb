"""Storage: the embedded memory store or Postgres (``DATABASE_URL``), its units of work, read
model, idempotency records, the worker's queries, the outbox relay and the delivery queue."""
from __future__ import annotations

from dependency_injector import containers, providers

from adapters.memory.deliveries import MemoryDeliveryQueue
from adapters.memory.infrastructure import InMemoryEventBus, MemoryIdempotencyStore
from adapters.memory.maintenance import MemoryMaintenanceQueries
from adapters.memory.read_model import MemoryReadModel
from adapters.memory.store import MemoryStore
from adapters.memory.uow import MemoryUnitOfWorkFactory
from adapters.postgres.caching import PostgresInvalidationJournal
from adapters.postgres.db import fetch
from adapters.postgres.deliveries import PostgresDeliveryQueue
from adapters.postgres.idempotency import PostgresIdempotencyStore
from adapters.postgres.maintenance import PostgresMaintenanceQueries
from adapters.postgres.outbox import OutboxRelay
from adapters.postgres.partitions import PostgresPartitions
from adapters.postgres.pool import create_pool
from adapters.postgres.read_model import PostgresReadModel
from adapters.postgres.uow import PostgresUnitOfWorkFactory
from adapters.redis import RedisStreamsEventBus
from application.caching import CacheAside
from application.deliveries import DeliveryDispatcher
from application.jobs import Every, Job
from entrypoints.wiring import resolve
from entrypoints.wiring.resources import opened

HOURLY = 3600.0


def health_check(storage: str, pool_provider) -> tuple[str, object]:
    """(name, probe) for /health/ready."""
    async def postgres() -> None:
        await fetch(await resolve(pool_provider), "SELECT 1")

    async def memory() -> None:
        return None
    return ("postgres", postgres) if storage == "postgres" else ("memory_storage", memory)


def replica_or_primary(replica, primary):
    """The pool reports read: a missing replica falls back to the primary."""
    return primary if replica is None else replica


def postgres_jobs(relay: OutboxRelay, idempotency: PostgresIdempotencyStore, dispatcher: DeliveryDispatcher,
                  cache: CacheAside, journal: PostgresInvalidationJournal, partitions: PostgresPartitions,
                  interval: float) -> list[Job]:
    """The outbox relay on its own; completed Idempotency-Keys (kept >= 24 h) and published outbox
    rows (kept 7 days) reaped hourly; the time-partitioned tables' coming partitions created and
    those past their retention dropped, hourly; the delivery dispatcher; the cache invalidations
    that no process confirmed, replayed."""
    jobs: list[Job] = [Every("outbox_relay", interval, relay.relay_once, 500),
                       Every("idempotency_reaping", HOURLY, idempotency.reap, 86400),
                       Every("outbox_purge", HOURLY, relay.purge),
                       Every("partitions", HOURLY, partitions.maintain), dispatcher]
    if cache.journaled:
        jobs.append(Every("cache_invalidation_replay", interval, cache.replay, journal))
    return jobs


class Storage(containers.DeclarativeContainer):
    exports = {"idempotency": "idempotency"}

    config = providers.Configuration()
    core = providers.DependenciesContainer()
    cache = providers.DependenciesContainer()

    memory_store = providers.Singleton(MemoryStore)
    pg_pool = providers.Resource(opened, config.database_url, create_pool, dsn=config.database_url,
                                 minsize=config.pg_pool_min, maxsize=config.pg_pool_max, metrics=core.metrics)
    #: the read replica (DATABASE_REPLICA_URL), None without one
    pg_replica_pool = providers.Resource(opened, config.database_replica_url, create_pool,
                                         dsn=config.database_replica_url, minsize=config.pg_pool_min,
                                         maxsize=config.pg_pool_max, application_name="payport-replica",
                                         metrics=core.metrics)
    #: the pool of the uncached reports and analytics (``application.ports.backoffice.AdminReports``,
    #: ``AnalyticsQueries``): the replica's, else the primary's. Nothing else reads it
    report_pool = providers.Callable(replica_or_primary, pg_replica_pool, pg_pool)
    #: for statements made on a connection of their own while a unit of work holds one of ``pg_pool``
    #: (the fraud rules' counts and record, inside a payment's initiation): from the same pool, N
    #: initiations at once holding all N connections would each wait for another until the pool's
    #: timeout (every one answered 503). Its connections are never held while waiting for another.
    #: Opened on first use (minsize 0): the main pool alone decides whether the app starts.
    pg_side_pool = providers.Resource(opened, config.database_url, create_pool, dsn=config.database_url,
                                      minsize=0, maxsize=2, outages_of=pg_pool)
    bus = providers.Selector(
        config.event_bus, memory=providers.Singleton(InMemoryEventBus),
        redis=providers.Singleton(RedisStreamsEventBus, cache.redis_bus_client, prefix=config.redis_prefix,
                                  metrics=core.metrics))

    uow = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryUnitOfWorkFactory, memory_store, bus),
        postgres=providers.Singleton(PostgresUnitOfWorkFactory, pg_pool, bus, prepare=config.pg_prepare))
    read_model = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryReadModel, memory_store),
        postgres=providers.Singleton(PostgresReadModel, pg_pool))
    idempotency = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryIdempotencyStore, core.clock),
        postgres=providers.Singleton(PostgresIdempotencyStore, pg_pool, core.clock))
    maintenance_queries = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryMaintenanceQueries, memory_store),
        postgres=providers.Singleton(PostgresMaintenanceQueries, pg_pool))
    outbox_relay = providers.Singleton(OutboxRelay, pg_pool, bus)
    #: the time-partitioned tables (migration 0014): coming partitions made, old ones dropped
    partitions = providers.Singleton(PostgresPartitions, pg_pool, core.clock)
    delivery_queue = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryDeliveryQueue, memory_store, core.clock),
        postgres=providers.Singleton(PostgresDeliveryQueue, pg_pool, core.clock))
    #: every context's ``delivery_senders``, merged (``container.build_container`` sets it)
    senders = providers.Dict()
    delivery_dispatcher = providers.Singleton(DeliveryDispatcher, delivery_queue, senders, core.clock,
                                              interval=config.worker_interval)

    health_check = providers.Callable(health_check, config.storage, pg_pool.provider)
    jobs = providers.Selector(
        config.storage, memory=providers.List(delivery_dispatcher),
        postgres=providers.Callable(postgres_jobs, outbox_relay, idempotency, delivery_dispatcher, cache.cache,
                                    providers.Singleton(PostgresInvalidationJournal, pg_pool),
                                    partitions, config.worker_interval))
