"""ops: health, the worker's settlement and refund jobs, reconciliation and admin reports."""
from dependency_injector import containers, providers

from application.jobs import Every, Job
from application.maintenance import Maintenance


def maintenance_jobs(maintenance: Maintenance, interval: float) -> list[Job]:
    """Open payments asked about (and expired), pending refunds retried."""
    return [Every("open_payment_settlement", interval, maintenance.settle_open_payments, 100),
            Every("pending_refund_retries", interval, maintenance.retry_pending_refunds, 100)]


class OpsContainer(containers.DeclarativeContainer):
    config = providers.Configuration()
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()
    cache = providers.DependenciesContainer()
    gateways = providers.DependenciesContainer()
    payments = providers.DependenciesContainer()

    maintenance = providers.Singleton(
        Maintenance, storage.uow, storage.maintenance_queries, payments.settlement, payments.refunds,
        payments.webhooks, gateways.registry, core.clock, core.ids,
        recover=providers.Callable(lambda initiate: initiate.recover, payments.initiate_payment), cache=cache.cache)
    #: one probe per backing adapter; /health/ready runs them and names whichever fails
    health_checks = providers.Callable(lambda *checks: dict(checks), storage.health_check, cache.health_check)

    jobs = providers.Callable(maintenance_jobs, maintenance, config.worker_interval)
