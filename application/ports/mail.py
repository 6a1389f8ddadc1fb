"""Ports of the e-mail channel: the transport that hands an e-mail to a mail server (SMTP in
production), and the unit of work the notification service queues e-mails in."""
from __future__ import annotations

from typing import Protocol

import attrs

from application.errors import ApplicationError
from application.ports.deliveries import DeliveryRepository
from application.ports.notifications import NotificationsUnitOfWork
from domain.errors import Kind


@attrs.frozen
class EmailMessage:
    """One plain-text e-mail to one recipient; ``message_id`` is the same on every attempt."""

    message_id: str
    to: str
    subject: str
    body: str


class MailUndelivered(ApplicationError):
    """The transport could not hand the e-mail over. ``permanent``: the server refused it for good
    (a 5xx refusal of the recipient or the message), so trying again cannot help."""

    code = "mail_undelivered"
    kind = Kind.UPSTREAM

    def __init__(self, message: str, *, permanent: bool = False, **details: object) -> None:
        super().__init__(message, **details)
        self.permanent = permanent


class MailTransport(Protocol):
    """Hands e-mails to a mail server. ``send`` returns once the server accepted the message and
    raises MailUndelivered otherwise (nothing else, for a failed delivery)."""

    async def send(self, message: EmailMessage) -> None: ...


class NotifyingUnitOfWork(NotificationsUnitOfWork, Protocol):
    """What the notification service records in: the in-app notification, and the e-mail queued
    beside it on the durable delivery queue."""

    deliveries: DeliveryRepository
