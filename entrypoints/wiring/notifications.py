"""notifications: a notice per notified event, written in the transaction that raised it, and (with
``SMTP_URL``) its e-mail, queued beside it on the delivery queue and sent by the ``email`` sender."""
from __future__ import annotations

from dependency_injector import containers, providers

from adapters.smtp import SmtpTransport
from application.mail import CHANNEL, Mail
from application.notifications import Notifications


def mail_for(smtp_url: str | None, queue, ids, clock) -> Mail | None:
    """E-mail over SMTP where ``SMTP_URL`` is set; none otherwise."""
    return Mail(SmtpTransport(smtp_url), queue, ids, clock) if smtp_url else None


class NotificationsContainer(containers.DeclarativeContainer):
    config = providers.Configuration()
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()

    mail = providers.Singleton(mail_for, config.smtp_url, storage.delivery_queue, core.ids, core.clock)
    notifications = providers.Singleton(Notifications, storage.uow, storage.read_model, core.ids, core.notifier,
                                        mail=mail)

    subscriptions = providers.List(notifications)
    delivery_senders = providers.Callable(lambda mail: {CHANNEL: mail.send} if mail else {}, mail)
