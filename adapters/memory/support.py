"""Memory repositories of the support context: tickets (with their thread), contact messages, the FAQ."""
from __future__ import annotations

from collections.abc import Callable

from adapters.memory.read_model import _page as newest_first
from adapters.memory.session import MemorySession
from adapters.memory.table import DeletableTable, MemoryTable
from application.ports import Page
from domain.faq import FaqEntry, FaqSection
from domain.support import ContactMessage, Ticket


def _created(row) -> str:
    return row.created_at.isoformat()


class MemoryTickets(MemoryTable):
    table = "support_tickets"

    async def add(self, ticket: Ticket) -> None:
        self._insert(ticket.id, ticket)

    async def page(self, *, owner_id: str | None, status: str | None, assignee_id: str | None, limit: int,
                   cursor: str | None) -> Page:
        rows = self._find_all(lambda t: (owner_id is None or t.owner_id == owner_id)
                              and (status is None or t.status.value == status)
                              and (assignee_id is None or t.assignee_id == assignee_id))
        return newest_first(rows, _created, limit, cursor)


class MemoryContactMessages(MemoryTable):
    table = "contact_messages"

    async def add(self, message: ContactMessage) -> None:
        self._insert(message.id, message)

    async def page(self, *, limit: int, cursor: str | None) -> Page:
        return newest_first(self._find_all(lambda m: True), _created, limit, cursor)


class _FaqSections(DeletableTable):
    table = "faq_sections"

    def _key(self, obj: FaqSection) -> str:
        return obj.slug


class _FaqEntries(DeletableTable):
    table = "faq_entries"


class MemoryFaq:
    """Two tables: ``faq_sections`` by slug, ``faq_entries`` by id."""

    def __init__(self, session: MemorySession) -> None:
        self._sections, self._entries = _FaqSections(session), _FaqEntries(session)

    async def sections(self) -> list[FaqSection]:
        return self._sections._find_all(lambda s: True)

    async def entries(self) -> list[FaqEntry]:
        return self._entries._find_all(lambda e: True)

    async def get_section(self, slug: str) -> FaqSection | None:
        return await self._sections.get(slug)

    lock_section = get_section  # the session already holds the store lock

    async def save_section(self, section: FaqSection) -> None:
        self._sections.session.write(self._sections.table, section.slug, section, new=True)  # create or rename

    async def delete_section(self, slug: str) -> None:
        await self._sections.delete(slug)

    async def get_entry(self, entry_id: str) -> FaqEntry | None:
        return await self._entries.get(entry_id)

    async def add_entry(self, entry: FaqEntry) -> None:
        self._entries._insert(entry.id, entry)

    async def save_entry(self, entry: FaqEntry) -> None:
        await self._entries.save(entry)

    async def delete_entry(self, entry_id: str) -> None:
        await self._entries.delete(entry_id)


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {
    "tickets": MemoryTickets, "contact_messages": MemoryContactMessages, "faq": MemoryFaq}
