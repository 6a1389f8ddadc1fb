"""orders: placing, listing and cancelling orders."""
from datetime import timedelta

from dependency_injector import containers, providers

from application.jobs import Every, Job
from application.orders import Orders


def order_jobs(orders: Orders, interval: float) -> list[Job]:
    """Pending orders past their window give their stock back."""
    return [Every("pending_order_expiry", max(interval, 30.0), orders.expire_stale, 100)]


class OrdersContainer(containers.DeclarativeContainer):
    config = providers.Configuration()
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()
    cache = providers.DependenciesContainer()

    orders = providers.Singleton(
        Orders, storage.uow, storage.read_model, core.clock, core.ids, tax_rules=core.tax_rules, cache=cache.cache,
        queries=storage.maintenance_queries,
        pending_window=providers.Callable(lambda minutes: timedelta(minutes=minutes), config.order_pending_minutes))

    jobs = providers.Callable(order_jobs, orders, config.worker_interval)
