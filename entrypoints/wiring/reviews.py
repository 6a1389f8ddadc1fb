"""reviews: buyers' reviews and the products' ratings (product and review caches invalidated)."""
from dependency_injector import containers, providers

from application.reviews import Reviews


class ReviewsContainer(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()
    cache = providers.DependenciesContainer()

    reviews = providers.Singleton(Reviews, storage.uow, core.ids, core.clock, cache=cache.cache)
