"""notifications: a notice per notified event, written in the transaction that raised it."""
from dependency_injector import containers, providers

from application.notifications import Notifications


class NotificationsContainer(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()

    notifications = providers.Singleton(Notifications, storage.uow, storage.read_model, core.ids, core.notifier)

    subscriptions = providers.List(notifications)
