"""identity: users, sign-up, login, tokens, profiles."""
from dependency_injector import containers, providers

from application.auth import Auth
from application.profiles import Profiles


class IdentityContainer(containers.DeclarativeContainer):
    config = providers.Configuration()
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()

    auth = providers.Singleton(Auth, storage.uow, core.hasher, core.tokens, core.ids, core.clock,
                               token_recheck=config.token_recheck)
    profiles = providers.Singleton(Profiles, storage.uow)
