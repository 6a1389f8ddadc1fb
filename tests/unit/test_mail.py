"""E-mail beside the in-app notifications (memory adapters, the memory mailbox): a template per
kind, one e-mail per event, retries by the worker's dispatcher, guests without an address."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.memory.deliveries import MemoryDeliveryQueue
from adapters.memory.infrastructure import LogNotifier
from adapters.memory.mailbox import MemoryMailbox
from adapters.memory.read_model import MemoryReadModel
from application.deliveries import DeliveryDispatcher
from application.mail import CHANNEL, Mail
from application.notifications import Notifications
from application.ports.deliveries import DeliveryStatus
from domain import events
from domain.mail import TEMPLATES, render
from domain.notifications import compose
from domain.support import SupportReplied
from tests.unit.storefront_support import ADA, GUEST, World


def test_every_notified_kind_has_a_template_of_its_own():
    kinds = {"order_created", "payment_initiated", "payment_completed", "payment_failed", "refund_requested",
             "refund_completed", "support_reply", "webhook_endpoint_disabled"}
    assert set(TEMPLATES) == kinds
    texts = {render(kind, name="Ada", body="BODY") for kind in kinds}
    assert len(texts) == len(kinds) and all(t.startswith("Hello Ada,\n\nBODY\n\n") for t in texts)
    assert render("something_else", name=" ", body="BODY").startswith("Hello there,\n\nBODY")


def test_a_support_reply_is_composed_for_the_customer():
    event = SupportReplied(timestamp=datetime(2026, 1, 1, tzinfo=UTC), user_id=ADA.id, user_email=ADA.email,
                           user_name="Ada", ticket_id="t", message_id="m", subject="Late parcel",
                           excerpt="It left today.")
    assert compose(event) == ("support_reply", "New reply to your ticket",
                              'Support replied to "Late parcel": It left today.')


@pytest.fixture
def world():
    w = World.make()
    w.mailbox = MemoryMailbox()
    w.queue = MemoryDeliveryQueue(w.store, w.clock, delay=lambda attempt: 30.0)
    w.mail = Mail(w.mailbox, w.queue, w.ids, w.clock)
    w.notifications = Notifications(w.uow, MemoryReadModel(w.store), w.ids, LogNotifier(), w.mail)
    w.notifications.subscribe_to(w.uow)
    w.worker = DeliveryDispatcher(w.queue, {CHANNEL: w.mail.send}, w.clock)
    return w


def _emails(world):
    return [d for d in world.store.tables["deliveries"].values() if d.channel == CHANNEL]


async def test_an_email_goes_out_after_the_commit_and_a_refusal_is_retried_by_the_worker(world):
    world.mailbox.refuse(2)
    order = await world.order(ADA, "TEE")
    await world.mail.drain()
    [email] = _emails(world)
    assert (email.status, email.attempts, world.mailbox.sent) == (DeliveryStatus.FAILED, 1, [])
    world.clock.advance(31)
    assert await world.worker.run_once() == 1
    assert (_emails(world)[0].status, world.mailbox.sent) == (DeliveryStatus.FAILED, [])
    world.clock.advance(31)
    await world.worker.run_once()
    [message] = world.mailbox.sent
    assert (message.to, message.subject, message.message_id) == (ADA.email, "Order created", f"<{email.id}@payport>")
    assert order.order_number in message.body and message.body.startswith("Hello Ada,")
    assert _emails(world)[0].status is DeliveryStatus.DELIVERED
    assert [n.kind for n in world.store.tables["notifications"].values()] == ["order_created"]


async def test_a_permanent_refusal_gives_up_at_once(world):
    world.mailbox.refuse(1, permanent=True, error="550 no such user")
    await world.order(ADA, "TEE")
    await world.mail.drain()
    [email] = _emails(world)
    assert (email.status, email.last_error) == (DeliveryStatus.DEAD, "550 no such user")


async def test_the_same_event_recorded_twice_is_emailed_once(world):
    await world.order(ADA, "TEE", id="ord_1")
    async with world.uow() as uow:  # the same event again, as a replay would bring it
        replay = events.OrderCreated(user_id=ADA.id, user_email=ADA.email, user_name="Ada", workspace_id=None,
                                     order_id="ord_1", order_number="PP-1", subtotal=1, tax=0, total=1,
                                     currency="NGN", item_count=1, timestamp=world.clock.now())
        await world.notifications.record(uow, [replay])
        await uow.commit()
    await world.mail.drain()
    assert len(_emails(world)) == 1 and len(world.mailbox.sent) == 1


async def test_events_without_an_address_are_not_emailed(world):
    await world.order(GUEST, "TEE")
    await world.mail.drain()
    assert _emails(world) == [] and world.mailbox.sent == []
