"""wishlist: one list per user or guest, shown at today's prices, moved to the cart, merged at login."""
from dependency_injector import containers, providers

from application.wishlist import Wishlists


class WishlistContainer(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()

    wishlist = providers.Singleton(Wishlists, storage.uow, core.clock)
