"""Postgres repositories of the support context (migration 0005): tickets with their messages
(``support_messages``, one row per message, appended and never changed), contact messages, the FAQ."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from adapters.postgres.keyset import PagedRepository
from adapters.postgres.mapping import Table, fields_of
from adapters.postgres.repo_base import Repository
from adapters.postgres.session import PostgresSession
from application.errors import AlreadyExists
from application.ports import Page
from domain.faq import FaqEntry, FaqSection
from domain.support import Author, ContactMessage, Ticket, TicketMessage, TicketStatus


def _messages(value: Any) -> list[TicketMessage]:
    return [TicketMessage(m["id"], m["author_id"], Author(m["author_role"]), m["body"],
                          datetime.fromisoformat(m["created_at"]).astimezone(UTC)) for m in value or []]


_MESSAGES_SQL = ("SELECT coalesce(json_agg(json_build_object('id', m.id, 'author_id', m.author_id, "
                 "'author_role', m.author_role, 'body', m.body, 'created_at', m.created_at) ORDER BY m.position), "
                 "'[]'::json) FROM support_messages m WHERE m.ticket_id = t.id")

TICKETS = Table("support_tickets", Ticket, "id", fields_of(Ticket, skip=("messages",)),
                {"status": TicketStatus, "messages": _messages}, extras={"messages": _MESSAGES_SQL}, versioned=True)
CONTACT_MESSAGES = Table("contact_messages", ContactMessage, "id", fields_of(ContactMessage))
FAQ_SECTIONS = Table("faq_sections", FaqSection, "slug", fields_of(FaqSection))
FAQ_ENTRIES = Table("faq_entries", FaqEntry, "id", fields_of(FaqEntry))


class PostgresTickets(PagedRepository):
    """Tickets; ``save`` updates the ticket (version-checked) and appends the messages it has
    gained since this unit of work first saw it."""

    table = TICKETS

    def __init__(self, session: PostgresSession) -> None:
        super().__init__(session)
        self._stored: dict[str, int] = {}  # ticket id -> messages already in the table

    async def _select(self, where: str, params: Any, **kwargs: Any) -> list[Any]:
        found = await super()._select(where, params, **kwargs)
        for ticket in found:
            self._stored.setdefault(ticket.id, len(ticket.messages))
        return found

    async def lock(self, ticket_id: str) -> Ticket | None:
        """Lock the row first, then read the ticket in a statement of its own: a locking read that
        waited for another writer sees that writer's ticket row but, in its thread's subquery, the
        messages of the snapshot it started with (READ COMMITTED re-checks only the locked row)."""
        await self.session.execute("SELECT 1 FROM support_tickets WHERE id = %s FOR UPDATE", [ticket_id])
        return await super().lock(ticket_id)

    async def add(self, ticket: Ticket) -> None:
        if not await self._insert(ticket):
            raise AlreadyExists(f"support_tickets {ticket.id} exists")
        self._stored[ticket.id] = 0
        await self._append_messages(ticket)

    async def save(self, ticket: Ticket) -> None:
        await super().save(ticket)
        await self._append_messages(ticket)

    async def _append_messages(self, ticket: Ticket) -> None:
        start = self._stored.get(ticket.id, 0)
        new = list(enumerate(ticket.messages))[start:]
        if not new:
            return
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(new))
        params = [v for n, m in new for v in (ticket.id, n, m.id, m.author_id, m.author_role.value, m.body,
                                              m.created_at)]
        # a message stored already (this ticket re-read since) is skipped; another message at the same
        # position is a lost reply, refused (the version check makes that a bug, not a race)
        await self.session.execute("INSERT INTO support_messages (ticket_id, position, id, author_id, author_role, "
                                   f"body, created_at) VALUES {values} ON CONFLICT (id) DO NOTHING", params)
        self._stored[ticket.id] = len(ticket.messages)

    async def page(self, *, owner_id: str | None, status: str | None, assignee_id: str | None, limit: int,
                   cursor: str | None) -> Page:
        given = {"owner_id": owner_id, "status": status, "assignee_id": assignee_id}
        where = [f"t.{column} = %s" for column, value in given.items() if value is not None]
        return await self._newest_first(where, [v for v in given.values() if v is not None], limit, cursor)


class PostgresContactMessages(PagedRepository):
    table = CONTACT_MESSAGES

    async def add(self, message: ContactMessage) -> None:
        if not await self._insert(message):
            raise AlreadyExists(f"contact_messages {message.id} exists")

    async def page(self, *, limit: int, cursor: str | None) -> Page:
        return await self._newest_first([], [], limit, cursor)


class _Rows(Repository):
    """All of one small table, and an insert that reports a taken key."""

    async def all(self) -> list[Any]:
        return await self._select("true", [])

    async def add(self, obj: Any) -> None:
        if not await self._insert(obj):
            raise AlreadyExists(f"{self.table.name} {self._key(obj)} exists")


class _Sections(_Rows):
    table = FAQ_SECTIONS


class _Entries(_Rows):
    table = FAQ_ENTRIES


class PostgresFaq:
    """Sections and entries (an entry's section is a foreign key)."""

    def __init__(self, session: PostgresSession) -> None:
        self.session = session
        self._sections, self._entries = _Sections(session), _Entries(session)

    async def sections(self) -> list[FaqSection]:
        return await self._sections.all()

    async def entries(self) -> list[FaqEntry]:
        return await self._entries.all()

    async def get_section(self, slug: str) -> FaqSection | None:
        return await self._sections.get(slug)

    async def lock_section(self, slug: str) -> FaqSection | None:
        return await self._sections.lock(slug)

    async def save_section(self, section: FaqSection) -> None:
        await self.session.execute("INSERT INTO faq_sections (slug, title, position) VALUES (%s, %s, %s) ON CONFLICT "
                                   "(slug) DO UPDATE SET title = EXCLUDED.title, position = EXCLUDED.position",
                                   [section.slug, section.title, section.position])
        self.session.adopt(FAQ_SECTIONS, section.slug, section)

    async def delete_section(self, slug: str) -> None:
        await self.session.execute("DELETE FROM faq_sections WHERE slug = %s", [slug])

    async def get_entry(self, entry_id: str) -> FaqEntry | None:
        return await self._entries.get(entry_id)

    async def add_entry(self, entry: FaqEntry) -> None:
        await self._entries.add(entry)

    async def save_entry(self, entry: FaqEntry) -> None:
        await self._entries.save(entry)

    async def delete_entry(self, entry_id: str) -> None:
        await self.session.execute("DELETE FROM faq_entries WHERE id = %s", [entry_id])


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {
    "tickets": PostgresTickets, "contact_messages": PostgresContactMessages, "faq": PostgresFaq}
#: This context's tables, in foreign-key order.
TABLES = ("support_tickets", "support_messages", "contact_messages", "faq_sections", "faq_entries")
