"""Use cases: support tickets. A customer opens one (about an order of theirs, if any), replies in
its thread and sees only their own; staff (admins) see all, reply, assign and move them. A staff
reply raises ``SupportReplied`` in its transaction: the notification service tells the customer."""
from __future__ import annotations

from collections.abc import Callable

from application.errors import Forbidden, NotFound
from application.ownership import visible
from application.ports import Clock, IdGenerator, Page
from application.ports.support import SupportUnitOfWork
from domain.errors import InvalidValue
from domain.support import Ticket, TicketMessage, TicketStatus
from domain.users import Principal, Role


def _require_staff(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only staff may do this to a ticket")


class Tickets:
    def __init__(self, uow: Callable[[], SupportUnitOfWork], ids: IdGenerator, clock: Clock) -> None:
        self.uow, self.ids, self.clock = uow, ids, clock

    async def open(self, principal: Principal, *, subject: str, body: str, order_id: str | None = None) -> Ticket:
        if principal.is_guest:
            raise Forbidden("sign in to open a ticket; guests may write through the contact form")
        async with self.uow() as uow:
            if order_id is not None:
                order = await uow.orders.get(order_id)
                if order is None or order.owner_id != principal.id:  # another's order is no order of yours
                    raise NotFound("no such order", order_id=order_id)
            ticket = Ticket.open(id=self.ids.new_id("tkt"), message_id=self.ids.new_id("msg"), customer=principal,
                                 subject=subject, body=body, order_id=order_id, now=self.clock.now())
            await uow.tickets.add(ticket)
            await uow.commit()
        return ticket

    async def get(self, principal: Principal, ticket_id: str) -> Ticket:
        async with self.uow() as uow:
            return visible(await uow.tickets.get(ticket_id), principal, "ticket", ticket_id=ticket_id)

    async def list(self, principal: Principal, *, status: str | None, assignee_id: str | None, limit: int,
                   cursor: str | None) -> Page:
        """A customer's own tickets; every ticket for staff (``assignee_id`` filters staff's view)."""
        if status is not None and status not in {s.value for s in TicketStatus}:
            raise InvalidValue(f"status is one of {', '.join(s.value for s in TicketStatus)}", field="status")
        owner = None if principal.is_admin else principal.id
        async with self.uow() as uow:
            return await uow.tickets.page(owner_id=owner, status=status,
                                          assignee_id=assignee_id if principal.is_admin else None,
                                          limit=limit, cursor=cursor)

    async def _change(self, principal: Principal, ticket_id: str,
                      change: Callable[[Ticket], TicketMessage | None]) -> tuple[Ticket, TicketMessage | None]:
        async with self.uow() as uow:
            ticket = visible(await uow.tickets.lock(ticket_id), principal, "ticket", ticket_id=ticket_id)
            outcome = change(ticket)
            await uow.tickets.save(ticket)
            await uow.commit()
        return ticket, outcome

    async def reply(self, principal: Principal, ticket_id: str, body: str) -> tuple[Ticket, TicketMessage]:
        """The customer's reply to their ticket, or staff's (which notifies the customer)."""
        def change(ticket: Ticket) -> TicketMessage:
            now, message_id = self.clock.now(), self.ids.new_id("msg")
            if ticket.owner_id == principal.id:
                return ticket.customer_reply(message_id, body, now)
            return ticket.staff_reply(message_id, principal.id, body, now)
        ticket, message = await self._change(principal, ticket_id, change)
        assert message is not None
        return ticket, message

    async def reopen(self, principal: Principal, ticket_id: str) -> Ticket:
        """The customer reopens their resolved or closed ticket (within the window)."""
        def change(ticket: Ticket) -> None:
            if ticket.owner_id != principal.id:
                raise Forbidden("a ticket is reopened by its customer; staff set its status")
            ticket.reopen(self.clock.now())
        return (await self._change(principal, ticket_id, change))[0]

    async def set_status(self, principal: Principal, ticket_id: str, status: str) -> Ticket:
        _require_staff(principal)
        try:
            target = TicketStatus(status)
        except ValueError:
            raise InvalidValue(f"status is one of {', '.join(s.value for s in TicketStatus)}",
                               field="status") from None
        return (await self._change(principal, ticket_id, lambda t: t.set_status(target, self.clock.now())))[0]

    async def assign(self, principal: Principal, ticket_id: str, assignee_id: str | None) -> Ticket:
        """Give the ticket to a staff member (None: to nobody)."""
        _require_staff(principal)
        async with self.uow() as uow:
            if assignee_id is not None:
                staff = await uow.users.get(assignee_id)
                if staff is None or staff.role is not Role.ADMIN:
                    raise InvalidValue("assignee_id names no staff member", field="assignee_id")
            ticket = visible(await uow.tickets.lock(ticket_id), principal, "ticket", ticket_id=ticket_id)
            ticket.assign(assignee_id, self.clock.now())
            await uow.tickets.save(ticket)
            await uow.commit()
        return ticket
