"""The notification service: subscribes to domain events and writes the in-app notification for each.

It subscribes in the transaction that raised the event (``TransactionSubscribers``), not after
commit on the bus: the notification commits or rolls back with the change it reports, and costs
no transaction of its own. Delivery to the ``Notifier`` happens after that commit. Where e-mail is
on (``mail``), the e-mail to a customer whose address the event names is queued in the same
transaction, on the durable delivery queue, and sent after it (``application.mail``): it never
holds the in-app one back.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from application.errors import NotFound
from application.mail import Mail
from application.ownership import visible
from application.ports import (
    IdGenerator,
    Notifier,
    Page,
    ReadModel,
    TransactionSubscribers,
)
from application.ports.mail import NotifyingUnitOfWork
from application.ports.notifications import NotificationsUnitOfWork
from domain import events
from domain.notifications import Notification, compose, event_key
from domain.users import Principal

log = logging.getLogger(__name__)


class Notifications:
    def __init__(self, uow: Callable[[], NotificationsUnitOfWork], read_model: ReadModel, ids: IdGenerator,
                 notifier: Notifier, mail: Mail | None = None) -> None:
        self.uow, self.read_model, self.ids, self.notifier, self.mail = uow, read_model, ids, notifier, mail

    def subscribe_to(self, transactions: TransactionSubscribers) -> None:
        transactions.subscribe(self.record)

    async def record(self, uow: NotifyingUnitOfWork, raised: list[events.DomainEvent]) -> None:
        """Inside ``uow``'s commit: one notification per notified event, written with the commit
        (deduplicated by event key), and told to the ``Notifier`` once it is committed. An event
        raised in a committing unit of work happens once (it comes with a state change under the
        row's lock and version), so the Notifier hears it once."""
        for event in raised:
            try:
                composed = compose(event)
            except Exception:  # noqa: BLE001 - a notice we cannot word never blocks the change
                log.exception("could not compose the notification for %s", event.name)
                continue
            if composed is None:
                continue
            kind, title, body = composed
            note = Notification(id=self.ids.new_id("ntf"), user_id=event.user_id, kind=kind, title=title, body=body,
                                created_at=event.timestamp, event_key=event_key(event))
            await uow.notifications.add_at_commit(note)
            uow.after_commit(partial(self.notifier.send, user_id=event.user_id, kind=kind, title=title, body=body))
            address = getattr(event, "user_email", None)
            if self.mail is not None and address:
                await self.mail.queue(uow, user_id=event.user_id, to=address, name=getattr(event, "user_name", None),
                                      kind=kind, title=title, body=body, event_key=note.event_key)

    async def list(self, principal: Principal, *, unread_only: bool, limit: int, cursor: str | None) -> Page:
        return await self.read_model.list_notifications(user_id=principal.id, unread_only=unread_only,
                                                        limit=limit, cursor=cursor)

    async def mark_read(self, principal: Principal, notification_id: str) -> Notification:
        async with self.uow() as uow:
            note = visible(await uow.notifications.get(notification_id), principal, "notification", "user_id")
            if note.user_id != principal.id:  # not even admins read someone else's notifications
                raise NotFound("no such notification")
            note.mark_read()
            await uow.notifications.save(note)
            await uow.commit()
        return note
