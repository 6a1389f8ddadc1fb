"""delivery: saved addresses (shipping rates and pickup stations are Core's pricing tables)."""
from dependency_injector import containers, providers

from application.addresses import Addresses


class DeliveryContainer(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()

    addresses = providers.Singleton(Addresses, storage.uow, core.ids, core.clock)
