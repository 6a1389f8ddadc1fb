"""Contract of the support repositories (tickets with their thread, contact messages, the FAQ), on
memory and Postgres."""
from __future__ import annotations

import asyncio

import pytest

import pg_builders as b
from application.errors import AlreadyExists, ConcurrencyConflict
from domain.faq import FaqEntry, FaqSection
from domain.support import Author, ContactMessage, Ticket, TicketStatus


def ticket(id: str = "tkt_1", *, owner: str = "usr_1", at: float = 0, order_id: str | None = None) -> Ticket:
    return Ticket.open(id=id, message_id=f"msg_{id}_0", customer=b.principal(owner), subject="Where is my parcel?",
                       body="It was due on Monday.", order_id=order_id, now=b.at(at))


async def test_tickets_round_trip_with_their_thread(backend):
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        await uow.tickets.add(ticket(order_id="ord_1"))
        with pytest.raises(AlreadyExists):
            await uow.tickets.add(ticket())
        await uow.commit()
    async with backend.uow() as uow:
        loaded = await uow.tickets.lock("tkt_1")
        assert loaded == ticket(order_id="ord_1")
        assert (loaded.customer_email, loaded.messages[0].author_role) == ("usr_1@example.com", Author.CUSTOMER)
        loaded.staff_reply("msg_1", "usr_admin", "It left Lagos today.", b.at(10))
        loaded.customer_reply("msg_2", "Thanks!", b.at(20))
        await uow.tickets.save(loaded)
        await uow.commit()
    async with backend.uow() as uow:
        loaded = await uow.tickets.get("tkt_1")
        assert [(m.id, m.author_role, m.body, m.created_at) for m in loaded.messages] == [
            ("msg_tkt_1_0", Author.CUSTOMER, "It was due on Monday.", b.at(0)),
            ("msg_1", Author.STAFF, "It left Lagos today.", b.at(10)),
            ("msg_2", Author.CUSTOMER, "Thanks!", b.at(20))]
        assert (loaded.status, loaded.version) == (TicketStatus.OPEN, 2)
        loaded.set_status(TicketStatus.RESOLVED, b.at(30))
        loaded.assign(None, b.at(30))
        await uow.tickets.save(loaded)
        await uow.commit()
    async with backend.uow() as uow:
        loaded = await uow.tickets.get("tkt_1")
        assert (loaded.status, loaded.settled_at, len(loaded.messages)) == (TicketStatus.RESOLVED, b.at(30), 3)


async def test_ticket_pages_newest_first_with_filters(backend):
    async with backend.uow() as uow:
        await uow.users.add(b.user("usr_staff", "staff@example.com"))
        for n in range(4):
            t = ticket(f"tkt_{n}", owner="usr_1" if n % 2 == 0 else "usr_2", at=n)
            if n == 3:
                t.assign("usr_staff", b.at(n))
                t.set_status(TicketStatus.RESOLVED, b.at(n))
            await uow.tickets.add(t)
        await uow.commit()
    async with backend.uow() as uow:
        first = await uow.tickets.page(owner_id=None, status=None, assignee_id=None, limit=3, cursor=None)
        rest = await uow.tickets.page(owner_id=None, status=None, assignee_id=None, limit=3, cursor=first.next_cursor)
        mine = await uow.tickets.page(owner_id="usr_1", status=None, assignee_id=None, limit=10, cursor=None)
        resolved = await uow.tickets.page(owner_id=None, status="resolved", assignee_id=None, limit=10, cursor=None)
        assigned = await uow.tickets.page(owner_id=None, status=None, assignee_id="usr_staff", limit=10, cursor=None)
    assert [t.id for t in first.results] == ["tkt_3", "tkt_2", "tkt_1"]
    assert [t.id for t in rest.results] == ["tkt_0"] and rest.next_cursor is None
    assert [t.id for t in mine.results] == ["tkt_2", "tkt_0"]
    assert [t.id for t in resolved.results] == [t.id for t in assigned.results] == ["tkt_3"]
    assert len(first.results[0].messages) == 1


async def test_a_ticket_changed_by_another_request_is_a_conflict(pg_backend):
    async with pg_backend.uow() as uow:
        await uow.tickets.add(ticket())
        await uow.commit()
    async with pg_backend.uow() as uow:
        stale = await uow.tickets.get("tkt_1")
        async with pg_backend.uow() as other:
            fresh = await other.tickets.lock("tkt_1")
            fresh.customer_reply("msg_a", "Any news?", b.at(5))
            await other.tickets.save(fresh)
            await other.commit()
        stale.customer_reply("msg_b", "Hello?", b.at(6))
        with pytest.raises(ConcurrencyConflict):
            await uow.tickets.save(stale)
    async with pg_backend.uow() as uow:
        assert [m.id for m in (await uow.tickets.get("tkt_1")).messages] == ["msg_tkt_1_0", "msg_a"]


async def test_locked_replies_are_appended_one_after_another(pg_backend):
    async with pg_backend.uow() as uow:
        await uow.tickets.add(ticket())
        await uow.commit()

    async def reply(n: int) -> None:
        async with pg_backend.uow() as uow:
            t = await uow.tickets.lock("tkt_1")
            await asyncio.sleep(0)
            t.customer_reply(f"msg_r{n}", f"reply {n}", b.at(n))
            await uow.tickets.save(t)
            await uow.commit()

    await asyncio.gather(*(reply(n) for n in range(1, 6)))
    async with pg_backend.uow() as uow:
        assert len((await uow.tickets.get("tkt_1")).messages) == 6


async def test_contact_messages_newest_first(backend):
    async with backend.uow() as uow:
        for n in range(3):
            await uow.contact_messages.add(ContactMessage.create(id=f"ctc_{n}", name="Ngozi", email="N@Example.com",
                                                                 message=f"Question {n}", now=b.at(n), sender_id=None))
        await uow.commit()
    async with backend.uow() as uow:
        first = await uow.contact_messages.page(limit=2, cursor=None)
        rest = await uow.contact_messages.page(limit=2, cursor=first.next_cursor)
    assert [m.id for m in first.results + rest.results] == ["ctc_2", "ctc_1", "ctc_0"]
    assert first.results[0].email == "n@example.com" and rest.next_cursor is None


async def test_faq_sections_and_entries(backend):
    async with backend.uow() as uow:
        await uow.faq.save_section(FaqSection("shipping", "Shipping", 2))
        await uow.faq.save_section(FaqSection("payments", "Payments", 1))
        await uow.faq.add_entry(FaqEntry("faq_1", "shipping", "How long?", "Two days.", 0, b.at(0)))
        await uow.faq.add_entry(FaqEntry("faq_2", "payments", "Which cards?", "Visa, Mastercard.", 0, b.at(0)))
        with pytest.raises(AlreadyExists):
            await uow.faq.add_entry(FaqEntry("faq_1", "shipping", "Again?", "No.", 0, b.at(0)))
        await uow.commit()
    async with backend.uow() as uow:
        await uow.faq.save_section(FaqSection("shipping", "Shipping and delivery", 0))
        entry = await uow.faq.get_entry("faq_1")
        entry.revise(section=None, question=None, answer="Two to three days.", position=3, now=b.at(1))
        await uow.faq.save_entry(entry)
        await uow.faq.delete_entry("faq_2")
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.faq.lock_section("shipping") == FaqSection("shipping", "Shipping and delivery", 0)
        assert sorted(s.slug for s in await uow.faq.sections()) == ["payments", "shipping"]
        assert [(e.id, e.answer, e.position) for e in await uow.faq.entries()] == [("faq_1", "Two to three days.", 3)]
        await uow.faq.delete_section("payments")
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.faq.get_section("payments") is None
        assert await uow.faq.get_entry("faq_2") is None
