"""backoffice: order fulfilment and cancellation, the admin lists and reports, the fraud review
queue, the analytics, and the gateway configuration changed at run time (with its refresh loop)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from dependency_injector import containers, providers

from adapters.backoffice_files import load_exchange_rates
from adapters.memory.backoffice import (
    MemoryAdminReadModel,
    MemoryAnalytics,
    MemoryPaymentConfigStore,
    MemoryVerificationLog,
)
from adapters.postgres.backoffice import (
    PostgresAdminReadModel,
    PostgresAnalytics,
    PostgresPaymentConfigStore,
    PostgresVerificationLog,
)
from application.analytics import Analytics
from application.backoffice import Backoffice
from application.cancellation import OrderCancellation
from application.fraud import RiskRules
from application.fulfilment import Fulfilment
from application.gateway_config import GatewayAnswers, GatewayConfiguration
from application.jobs import Every, Job

log = logging.getLogger("payport.gateways.config")


async def watched(configuration: GatewayConfiguration, answers: GatewayAnswers) -> AsyncIterator[GatewayConfiguration]:
    """The gateway configuration while the process runs: read once at start (the built-in one stays
    if the database cannot be read yet), then again every ``refresh_seconds``; what gateways answer
    about payments is recorded for support."""
    configuration.registry.observe(answers)

    async def refresh() -> None:
        try:
            await configuration.refresh()
        except Exception:  # noqa: BLE001 - the last configuration read stays in force; try again later
            log.warning("could not read the gateway configuration; keeping the one in force", exc_info=True)

    async def loop() -> None:
        while True:
            await asyncio.sleep(configuration.refresh_seconds)
            await refresh()

    await refresh()
    task = asyncio.create_task(loop())
    try:
        yield configuration
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        configuration.registry.observe(None)


HOURLY = 3600.0


def backoffice_jobs(cancellation: OrderCancellation, risk: RiskRules, interval: float) -> list[Job]:
    """Cancellations whose refund a crash or an error left unrequested are finished; the fraud
    rules' attempts older than their longest window are forgotten, hourly."""
    return [Every("cancellation_refunds", interval, cancellation.finish_due, 100),
            Every("fraud_attempt_reaping", HOURLY, risk.reap)]


def _window(hours: float) -> timedelta | None:
    return timedelta(hours=hours) if hours > 0 else None


class BackofficeContainer(containers.DeclarativeContainer):
    exports = {"fulfilment": "fulfilment", "order_cancellation": "cancellation", "backoffice": "backoffice",
               "analytics": "analytics", "gateway_config": "gateway_config"}

    config = providers.Configuration()
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()
    cache = providers.DependenciesContainer()
    gateways = providers.DependenciesContainer()
    orders = providers.DependenciesContainer()
    payments = providers.DependenciesContainer()
    fraud = providers.DependenciesContainer()

    settings = providers.Callable(lambda s: s.backoffice, core.settings)

    cancellation = providers.Singleton(
        OrderCancellation, storage.uow, orders.orders, payments.refunds, storage.maintenance_queries, core.clock,
        customer_window=providers.Callable(lambda b: _window(b.cancel_window_hours), settings), cache=cache.cache)
    fulfilment = providers.Singleton(Fulfilment, storage.uow, cancellation, core.clock, cache=cache.cache)

    admin_read = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryAdminReadModel, storage.memory_store),
        postgres=providers.Singleton(PostgresAdminReadModel, storage.pg_pool))
    #: the admin lists: uncached reports, on the read replica when there is one (``storage.report_pool``)
    admin_reports = providers.Selector(
        config.storage, memory=admin_read,
        postgres=providers.Singleton(PostgresAdminReadModel, storage.report_pool))
    backoffice = providers.Singleton(Backoffice, storage.uow, admin_read, payments.refunds, payments.webhooks,
                                     payments.initiate_payment, reports=admin_reports)

    analytics_queries = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryAnalytics, storage.memory_store),
        postgres=providers.Singleton(PostgresAnalytics, storage.report_pool))  # the replica's, if any
    rates = providers.Singleton(load_exchange_rates, providers.Callable(lambda b: b.exchange_rates_file, settings))
    analytics = providers.Singleton(Analytics, analytics_queries, rates, core.clock, cache=cache.cache,
                                    ttl=providers.Callable(lambda ttls: ttls["analytics"], config.ttls))

    config_store = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryPaymentConfigStore, storage.memory_store),
        postgres=providers.Singleton(PostgresPaymentConfigStore, storage.pg_pool))
    verification_log = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryVerificationLog, storage.memory_store),
        postgres=providers.Singleton(PostgresVerificationLog, storage.pg_pool))
    configuration = providers.Singleton(
        GatewayConfiguration, config_store, gateways.registry, gateways.settings, core.clock, cache=cache.cache,
        ttl=providers.Callable(lambda ttls: ttls["gateway_config"], config.ttls),
        refresh=providers.Callable(lambda b: b.gateway_config_refresh, settings))
    gateway_config = providers.Resource(watched, configuration,
                                        providers.Singleton(GatewayAnswers, verification_log, core.clock))

    jobs = providers.Callable(backoffice_jobs, cancellation, fraud.checker, config.worker_interval)
