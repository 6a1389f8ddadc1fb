"""Use cases: the contact form (anyone, guests too; the HTTP edge limits it per client IP) and
staff's list of what came in."""
from __future__ import annotations

from collections.abc import Callable

from application.errors import Forbidden
from application.ports import Clock, IdGenerator, Page
from application.ports.support import SupportUnitOfWork
from domain.support import ContactMessage
from domain.users import Principal


class ContactForm:
    def __init__(self, uow: Callable[[], SupportUnitOfWork], ids: IdGenerator, clock: Clock) -> None:
        self.uow, self.ids, self.clock = uow, ids, clock

    async def send(self, sender: Principal | None, *, name: str, email: str, message: str) -> ContactMessage:
        contact = ContactMessage.create(id=self.ids.new_id("ctc"), name=name, email=email, message=message,
                                        now=self.clock.now(), sender_id=sender.id if sender else None)
        async with self.uow() as uow:
            await uow.contact_messages.add(contact)
            await uow.commit()
        return contact

    async def list(self, principal: Principal, *, limit: int, cursor: str | None) -> Page:
        if not principal.is_admin:
            raise Forbidden("only staff read the contact messages")
        async with self.uow() as uow:
            return await uow.contact_messages.page(limit=limit, cursor=cursor)
