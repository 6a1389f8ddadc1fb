"""catalog: products, categories, coupons."""
from dependency_injector import containers, providers

from application.catalog import Catalog


class CatalogContainer(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()
    cache = providers.DependenciesContainer()

    catalog = providers.Singleton(Catalog, storage.uow, storage.read_model, ids=core.ids, cache=cache.cache)
