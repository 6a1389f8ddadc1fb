"""Support (domain) and its use cases on the memory adapters: tickets and their thread, the status
table and the reopening window, ownership, staff replies notifying the customer, the contact form
and the FAQ."""
from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory.infrastructure import LogNotifier
from adapters.memory.read_model import MemoryReadModel
from application.errors import Conflict, Forbidden, NotFound
from application.notifications import Notifications
from application.support.contact import ContactForm
from application.support.faq import Faq
from application.support.tickets import Tickets
from domain.errors import IllegalTransition, InvalidValue
from domain.support import REOPEN_WINDOW, Author, ReopenWindowPassed, SupportReplied, Ticket, TicketStatus
from domain.users import Role, User
from tests.unit.storefront_support import ADA, ADMIN, BOLA, GUEST, World


@pytest.fixture
def world():
    return World.make()


def _ticket(now) -> Ticket:
    return Ticket.open(id="tkt_1", message_id="msg_0", customer=ADA, subject=" Late parcel ", body="Where is it?",
                       order_id=None, now=now)


def test_replies_take_turns_and_a_staff_reply_tells_the_customer(world):
    now = world.clock.now()
    ticket = _ticket(now)
    assert (ticket.subject, ticket.status, ticket.events) == ("Late parcel", TicketStatus.OPEN, [])
    ticket.staff_reply("msg_1", ADMIN.id, "It left Lagos\n today.", now)
    assert ticket.status is TicketStatus.PENDING
    assert ticket.events == [SupportReplied(timestamp=now, user_id=ADA.id, user_email=ADA.email, user_name="Ada",
                                            ticket_id="tkt_1", message_id="msg_1", subject="Late parcel",
                                            excerpt="It left Lagos today.")]
    ticket.customer_reply("msg_2", "Thanks", now)
    assert ticket.status is TicketStatus.OPEN
    assert [m.author_role for m in ticket.messages] == [Author.CUSTOMER, Author.STAFF, Author.CUSTOMER]


def test_a_settled_ticket_reopens_within_the_window_only(world):
    now = world.clock.now()
    ticket = _ticket(now)
    ticket.set_status(TicketStatus.RESOLVED, now)
    with pytest.raises(IllegalTransition):
        ticket.staff_reply("msg_1", ADMIN.id, "One more thing", now)  # reopen it first
    ticket.customer_reply("msg_2", "Still not here", now + REOPEN_WINDOW)  # the last moment: reopens
    assert ticket.status is TicketStatus.OPEN
    ticket.set_status(TicketStatus.CLOSED, now)
    with pytest.raises(IllegalTransition):
        ticket.set_status(TicketStatus.OPEN, now)  # staff do not reopen a closed ticket
    with pytest.raises(ReopenWindowPassed):
        ticket.reopen(now + REOPEN_WINDOW + timedelta(seconds=1))
    ticket.reopen(now + timedelta(days=1))
    assert (ticket.status, ticket.settled_at) == (TicketStatus.OPEN, now)
    with pytest.raises(IllegalTransition):
        ticket.reopen(now)  # an open ticket is not reopened


async def test_customers_see_only_their_own_tickets_and_an_order_must_be_theirs(world):
    tickets = Tickets(world.uow, world.ids, world.clock)
    adas_order = await world.order(ADA, "TEE")
    bolas_order = await world.order(BOLA, "TEE")
    with pytest.raises(NotFound):
        await tickets.open(ADA, subject="Refund", body="Please", order_id=bolas_order.id)
    with pytest.raises(NotFound):
        await tickets.open(ADA, subject="Refund", body="Please", order_id="ord_nope")
    with pytest.raises(Forbidden):
        await tickets.open(GUEST, subject="Hi", body="Hello")
    mine = await tickets.open(ADA, subject="Refund", body="Please", order_id=adas_order.id)
    world.clock.advance(1)
    await tickets.open(BOLA, subject="Hello", body="Question")
    assert (await tickets.get(ADA, mine.id)).order_id == adas_order.id
    assert (await tickets.get(ADMIN, mine.id)).id == mine.id
    for call in (tickets.get(BOLA, mine.id), tickets.reply(BOLA, mine.id, "me too"), tickets.reopen(BOLA, mine.id)):
        with pytest.raises(NotFound):
            await call
    assert [t.id for t in (await tickets.list(ADA, status=None, assignee_id=None, limit=10, cursor=None)).results] \
        == [mine.id]
    assert len((await tickets.list(ADMIN, status="open", assignee_id=None, limit=10, cursor=None)).results) == 2
    with pytest.raises(InvalidValue):
        await tickets.list(ADMIN, status="lost", assignee_id=None, limit=10, cursor=None)


async def test_staff_reply_assign_and_move_and_the_customer_is_notified_in_app(world):
    notifier = LogNotifier()
    Notifications(world.uow, MemoryReadModel(world.store), world.ids, notifier).subscribe_to(world.uow)
    tickets = Tickets(world.uow, world.ids, world.clock)
    async with world.uow() as uow:
        await uow.users.add(User(ADMIN.id, ADMIN.email, "Admin", "hash", Role.ADMIN, world.clock.now()))
        await uow.users.add(User(ADA.id, ADA.email, "Ada", "hash", Role.CUSTOMER, world.clock.now()))
        await uow.commit()
    ticket = await tickets.open(ADA, subject="Late parcel", body="Where is it?")
    with pytest.raises(Forbidden):
        await tickets.set_status(ADA, ticket.id, "resolved")
    with pytest.raises(Forbidden):
        await tickets.assign(ADA, ticket.id, ADMIN.id)
    with pytest.raises(InvalidValue):
        await tickets.assign(ADMIN, ticket.id, ADA.id)  # not staff
    assert (await tickets.assign(ADMIN, ticket.id, ADMIN.id)).assignee_id == ADMIN.id
    ticket, message = await tickets.reply(ADMIN, ticket.id, "It left Lagos today.")
    assert (ticket.status, message.author_role) == (TicketStatus.PENDING, Author.STAFF)
    [note] = (await MemoryReadModel(world.store).list_notifications(user_id=ADA.id, unread_only=True, limit=5,
                                                                     cursor=None)).results
    assert (note.kind, note.title, note.event_key) == ("support_reply", "New reply to your ticket",
                                                       f"SUPPORT_REPLIED:{message.id}")
    assert note.body == 'Support replied to "Late parcel": It left Lagos today.'
    assert [s["kind"] for s in notifier.sent] == ["support_reply"]
    await tickets.reply(ADA, ticket.id, "Thanks")  # the customer's own reply notifies nobody
    assert len(notifier.sent) == 1
    resolved = await tickets.set_status(ADMIN, ticket.id, "resolved")
    assert resolved.settled_at == world.clock.now()
    with pytest.raises(InvalidValue):
        await tickets.set_status(ADMIN, ticket.id, "lost")
    with pytest.raises(Forbidden):
        await tickets.reopen(ADMIN, ticket.id)
    assert (await tickets.reopen(ADA, ticket.id)).status is TicketStatus.OPEN


async def test_the_contact_form_takes_guests_and_staff_read_it(world):
    form = ContactForm(world.uow, world.ids, world.clock)
    sent = await form.send(None, name="Ngozi", email=" Ngozi@Example.com ", message="Do you ship to Abuja?")
    assert (sent.email, sent.sender_id) == ("ngozi@example.com", None)
    await form.send(GUEST, name="Kofi", email="kofi@example.com", message="Hello")
    for bad in ({"email": "not-an-email"}, {"name": " "}, {"message": ""}):
        with pytest.raises(InvalidValue):
            await form.send(None, **{"name": "N", "email": "n@example.com", "message": "m", **bad})
    with pytest.raises(Forbidden):
        await form.list(ADA, limit=10, cursor=None)
    assert len((await form.list(ADMIN, limit=10, cursor=None)).results) == 2


async def test_the_faq_is_arranged_in_ordered_sections_and_written_by_admins(world):
    faq = Faq(world.uow, world.ids, world.clock)
    with pytest.raises(Forbidden):
        await faq.put_section(ADA, "payments", "Payments")
    await faq.put_section(ADMIN, "shipping", "Shipping", position=2)
    await faq.put_section(ADMIN, "payments", "Payments", position=1)
    await faq.put_section(ADMIN, "empty", "Nothing yet", position=0)
    with pytest.raises(InvalidValue):
        await faq.add_entry(ADMIN, section="nope", question="Q", answer="A")
    late = await faq.add_entry(ADMIN, section="shipping", question="How long?", answer="Two days.", position=5)
    await faq.add_entry(ADMIN, section="shipping", question="Where to?", answer="Nigeria, Ghana, Kenya.", position=1)
    await faq.add_entry(ADMIN, section="payments", question="Which cards?", answer="Visa, Mastercard.")
    page = await faq.page()
    assert [(s.slug, [e.question for e in entries]) for s, entries in page.sections] == [
        ("payments", ["Which cards?"]), ("shipping", ["Where to?", "How long?"])]
    await faq.revise_entry(ADMIN, late.id, position=0, answer="Two to three days.")
    assert [e.answer for e in (await faq.page()).sections[1][1]][0] == "Two to three days."
    with pytest.raises(Conflict):
        await faq.delete_section(ADMIN, "payments")
    await faq.delete_section(ADMIN, "empty")
    await faq.delete_entry(ADMIN, late.id)
    with pytest.raises(NotFound):
        await faq.delete_entry(ADMIN, late.id)
    with pytest.raises(InvalidValue):
        await faq.put_section(ADMIN, "Bad Slug", "x")
