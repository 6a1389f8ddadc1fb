"""Support: tickets a customer opens (a thread of messages with staff), and guests' contact messages.

A ticket moves ``open -> pending -> resolved -> closed``: a staff reply leaves it ``pending`` (the
customer's turn), a customer reply makes it ``open`` again (staff's turn). The customer may reopen
a resolved or closed ticket within ``REOPEN_WINDOW`` of its settling (replying does it too).
"""
from __future__ import annotations

import enum
import re
from datetime import datetime, timedelta

import attrs

from domain import events, transitions
from domain.notifications import Notice, notifies
from domain.errors import DomainError, IllegalTransition, InvalidValue, Kind
from domain.users import Principal

REOPEN_WINDOW = timedelta(days=14)
MAX_SUBJECT = 200
MAX_MESSAGE = 10_000
MAX_MESSAGES = 200
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")


class TicketStatus(str, enum.Enum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


_T = TicketStatus
TICKET_TRANSITIONS = transitions.table(TicketStatus, {
    _T.OPEN: {_T.PENDING, _T.RESOLVED, _T.CLOSED},
    _T.PENDING: {_T.OPEN, _T.RESOLVED, _T.CLOSED},
    _T.RESOLVED: {_T.OPEN, _T.CLOSED},
    _T.CLOSED: {_T.OPEN},  # only the customer, within the window (Ticket.reopen)
})
SETTLED = frozenset({_T.RESOLVED, _T.CLOSED})


class ReopenWindowPassed(DomainError):
    code = "reopen_window_passed"
    kind = Kind.CONFLICT
    title = "Too late to reopen"


class Author(str, enum.Enum):
    CUSTOMER = "customer"
    STAFF = "staff"


@attrs.frozen
class TicketMessage:
    id: str
    author_id: str
    author_role: Author
    body: str
    created_at: datetime


@attrs.frozen(kw_only=True)
class SupportReplied(events.DomainEvent, name="SUPPORT_REPLIED"):
    """Staff answered a ticket: its customer is told (in-app and by e-mail). No public form."""

    user_id: str
    user_email: str | None
    user_name: str | None
    ticket_id: str
    message_id: str
    subject: str
    excerpt: str


@notifies(SupportReplied, subject="message_id")
def _support_replied(e: SupportReplied) -> Notice:
    return "support_reply", "New reply to your ticket", f'Support replied to "{e.subject}": {e.excerpt}'


def _text(value: str, field: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidValue(f"{field} is 1 to {limit} characters", field=field)
    return value


@attrs.define
class Ticket:
    id: str
    owner_id: str
    customer_email: str | None
    customer_name: str | None
    subject: str
    status: TicketStatus
    created_at: datetime
    updated_at: datetime
    messages: list[TicketMessage] = attrs.field(factory=list)
    order_id: str | None = None
    assignee_id: str | None = None
    #: When it was last resolved or closed (the reopening window runs from here).
    settled_at: datetime | None = None
    version: int = 0
    events: list = attrs.field(factory=list, eq=False, repr=False)

    @classmethod
    def open(cls, *, id: str, message_id: str, customer: Principal, subject: str, body: str,
             order_id: str | None, now: datetime) -> Ticket:
        ticket = cls(id=id, owner_id=customer.id, customer_email=customer.email, customer_name=customer.name,
                     subject=_text(subject, "subject", MAX_SUBJECT), status=TicketStatus.OPEN, created_at=now,
                     updated_at=now, order_id=order_id)
        ticket._append(message_id, customer.id, Author.CUSTOMER, body, now)
        return ticket

    def _append(self, message_id: str, author_id: str, role: Author, body: str, now: datetime) -> TicketMessage:
        if len(self.messages) >= MAX_MESSAGES:
            raise InvalidValue(f"a ticket holds at most {MAX_MESSAGES} messages; open a new one")
        message = TicketMessage(message_id, author_id, role, _text(body, "body", MAX_MESSAGE), now)
        self.messages.append(message)
        return message

    def _move(self, status: TicketStatus, now: datetime) -> None:
        transitions.check_transition(self.status, status, "ticket")
        self.status = status
        if status in SETTLED:
            self.settled_at = now

    def _changed(self, now: datetime) -> None:
        self.updated_at = now
        self.version += 1

    def customer_reply(self, message_id: str, body: str, now: datetime) -> TicketMessage:
        """The customer writes: staff's turn (a settled ticket is reopened, within the window)."""
        if self.status in SETTLED:
            self._check_window(now)
        message = self._append(message_id, self.owner_id, Author.CUSTOMER, body, now)
        if self.status is not TicketStatus.OPEN:
            self._move(TicketStatus.OPEN, now)
        self._changed(now)
        return message

    def staff_reply(self, message_id: str, staff_id: str, body: str, now: datetime) -> TicketMessage:
        """Staff write: the customer's turn, and the customer is told."""
        if self.status in SETTLED:
            transitions.check_transition(self.status, TicketStatus.PENDING, "ticket")  # reopen it first
        message = self._append(message_id, staff_id, Author.STAFF, body, now)
        if self.status is TicketStatus.OPEN:
            self._move(TicketStatus.PENDING, now)
        self._changed(now)
        self.events.append(SupportReplied(
            timestamp=now, user_id=self.owner_id, user_email=self.customer_email, user_name=self.customer_name,
            ticket_id=self.id, message_id=message.id, subject=self.subject, excerpt=_excerpt(message.body)))
        return message

    def reopen(self, now: datetime) -> None:
        """The customer reopens a resolved or closed ticket, within ``REOPEN_WINDOW``."""
        if self.status not in SETTLED:
            transitions.check_transition(self.status, TicketStatus.OPEN, "ticket")
        self._check_window(now)
        self._move(TicketStatus.OPEN, now)
        self._changed(now)

    def set_status(self, status: TicketStatus, now: datetime) -> None:
        """Staff move it (the table decides; reopening a closed ticket is the customer's)."""
        if self.status is TicketStatus.CLOSED:
            raise IllegalTransition("a closed ticket is reopened by its customer only", entity="ticket",
                                    current=self.status.value, requested=status.value)
        self._move(status, now)
        self._changed(now)

    def assign(self, assignee_id: str | None, now: datetime) -> None:
        self.assignee_id = assignee_id
        self._changed(now)

    def _check_window(self, now: datetime) -> None:
        if self.settled_at is not None and now - self.settled_at > REOPEN_WINDOW:
            raise ReopenWindowPassed(f"a ticket can be reopened within {REOPEN_WINDOW.days} days of being "
                                     f"{self.status.value}; open a new one", ticket_id=self.id)


def _excerpt(body: str, length: int = 140) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


@attrs.frozen
class ContactMessage:
    """A message from the contact form (guests welcome): kept for staff to answer by e-mail."""

    id: str
    name: str
    email: str
    message: str
    created_at: datetime
    sender_id: str | None = None

    @classmethod
    def create(cls, *, id: str, name: str, email: str, message: str, now: datetime,
               sender_id: str | None) -> ContactMessage:
        email = email.strip().lower()
        if not EMAIL.match(email):
            raise InvalidValue("not a valid email address", field="email")
        return cls(id, _text(name, "name", 200), email, _text(message, "message", MAX_MESSAGE), now, sender_id)
