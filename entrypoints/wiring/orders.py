"""orders: placing, listing and cancelling orders."""
from dependency_injector import containers, providers

from application.orders import Orders


class OrdersContainer(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()
    cache = providers.DependenciesContainer()

    orders = providers.Singleton(Orders, storage.uow, storage.read_model, core.clock, core.ids,
                                 tax_rules=core.tax_rules, cache=cache.cache)
