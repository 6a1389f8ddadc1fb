"""cart: a shopper's cart (a user's or a guest's)."""
from dependency_injector import containers, providers

from application.cart import Carts


class CartContainer(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()

    cart = providers.Singleton(Carts, storage.uow, core.clock)
