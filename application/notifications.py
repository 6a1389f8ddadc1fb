"""The notification service: subscribes to domain events and writes the in-app notification for each."""
from __future__ import annotations

from application.errors import NotFound
from application.ownership import visible
from application.ports import EventBus, IdGenerator, Notifier, Page, ReadModel, UnitOfWorkFactory
from domain import events
from domain.notifications import Notification, compose
from domain.users import Principal

NOTIFIED = (events.OrderCreated, events.PaymentInitiated, events.PaymentCompleted, events.PaymentFailed,
            events.RefundRequested, events.RefundCompleted)


def event_key(event: events.DomainEvent) -> str:
    """One notification per event occurrence, however often the event is delivered."""
    subject = getattr(event, "refund_id", None) or getattr(event, "payment_id", None) or event.order_id
    return f"{event.name}:{subject}"


class Notifications:
    def __init__(self, uow: UnitOfWorkFactory, read_model: ReadModel, ids: IdGenerator, notifier: Notifier) -> None:
        self.uow, self.read_model, self.ids, self.notifier = uow, read_model, ids, notifier

    def subscribe_to(self, bus: EventBus) -> None:
        for event_type in NOTIFIED:
            bus.subscribe(event_type, self.handle)

    async def handle(self, event: events.DomainEvent) -> None:
        composed = compose(event)
        if composed is None:
            return
        kind, title, body = composed
        note = Notification(id=self.ids.new_id("ntf"), user_id=event.user_id, kind=kind, title=title, body=body,
                            created_at=event.timestamp, event_key=event_key(event))
        async with self.uow() as uow:
            added = await uow.notifications.add(note)
            await uow.commit()
        if added:
            await self.notifier.send(user_id=event.user_id, kind=kind, title=title, body=body)

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
