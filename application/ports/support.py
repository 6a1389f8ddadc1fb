"""Persistence ports of the support context: tickets with their messages, contact messages, the FAQ."""
from __future__ import annotations

from typing import Protocol

from application.ports.repositories import Page, UnitOfWork
from domain.faq import FaqEntry, FaqSection
from domain.orders import Order
from domain.support import ContactMessage, Ticket
from domain.users import User


class TicketRepository(Protocol):
    """Tickets with their thread. ``save`` checks the version loaded (optimistic;
    ConcurrencyConflict) and stores the messages appended since."""

    async def get(self, ticket_id: str) -> Ticket | None: ...
    async def lock(self, ticket_id: str) -> Ticket | None: ...
    async def add(self, ticket: Ticket) -> None: ...
    async def save(self, ticket: Ticket) -> None: ...
    async def page(self, *, owner_id: str | None, status: str | None, assignee_id: str | None, limit: int,
                   cursor: str | None) -> Page:
        """Newest first by (created_at, id); each filter None means any."""
        ...


class ContactMessageRepository(Protocol):
    async def add(self, message: ContactMessage) -> None: ...
    async def page(self, *, limit: int, cursor: str | None) -> Page:
        """Newest first by (created_at, id)."""
        ...


class OrderLookup(Protocol):
    """What a ticket needs of the orders: whose one is (an ``OrderRepository`` is one)."""

    async def get(self, order_id: str) -> Order | None: ...


class UserLookup(Protocol):
    """Who a ticket may be assigned to (a ``UserRepository`` is one)."""

    async def get(self, user_id: str) -> User | None: ...


class SupportUnitOfWork(UnitOfWork, Protocol):
    """What tickets and the contact form use."""

    tickets: TicketRepository
    contact_messages: ContactMessageRepository
    orders: OrderLookup
    users: UserLookup


class FaqRepository(Protocol):
    """Sections by slug, entries by id. ``save_section`` creates or renames."""

    async def sections(self) -> list[FaqSection]: ...
    async def entries(self) -> list[FaqEntry]: ...
    async def get_section(self, slug: str) -> FaqSection | None: ...
    async def lock_section(self, slug: str) -> FaqSection | None:
        """The section, locked until the unit of work ends: an entry is never added to a section
        being deleted."""
        ...
    async def save_section(self, section: FaqSection) -> None: ...
    async def delete_section(self, slug: str) -> None: ...
    async def get_entry(self, entry_id: str) -> FaqEntry | None: ...
    async def add_entry(self, entry: FaqEntry) -> None: ...
    async def save_entry(self, entry: FaqEntry) -> None: ...
    async def delete_entry(self, entry_id: str) -> None: ...


class FaqUnitOfWork(UnitOfWork, Protocol):
    """What the FAQ's use cases use."""

    faq: FaqRepository
