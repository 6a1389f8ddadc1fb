"""identity: users, sign-up, login, tokens."""
from dependency_injector import containers, providers

from application.auth import Auth


class IdentityContainer(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()

    auth = providers.Singleton(Auth, storage.uow, core.hasher, core.tokens, core.ids, core.clock)
