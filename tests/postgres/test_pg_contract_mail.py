"""E-mail beside the in-app notifications, on memory and Postgres, through the durable delivery
queue and a real SMTP server started here (aiosmtpd): what arrives, a server that refuses for a
while (the worker's dispatcher retries; the in-app notification is never lost), one refusing for
good (given up at once)."""
from __future__ import annotations

import pytest

import pg_builders as b
from adapters.memory.deliveries import MemoryDeliveryQueue
from adapters.memory.infrastructure import LogNotifier
from adapters.postgres.deliveries import PostgresDeliveryQueue
from adapters.smtp import SmtpTransport
from adapters.system import RandomIds
from application.deliveries import DeliveryDispatcher
from application.mail import CHANNEL, Mail
from application.notifications import Notifications
from application.ports.deliveries import DeliveryStatus
from tests.smtp_server import smtp_server


@pytest.fixture
def inbox():
    with smtp_server() as server:
        yield server


class Setup:
    def __init__(self, backend, url: str) -> None:
        ids = RandomIds(backend.clock)
        if backend.name == "memory":
            self.queue = MemoryDeliveryQueue(backend.store, backend.clock, delay=lambda attempt: 60.0)
        else:
            self.queue = PostgresDeliveryQueue(backend.pool, backend.clock, delay=lambda attempt: 60.0)
        self.mail = Mail(SmtpTransport(url), self.queue, ids, backend.clock)
        Notifications(backend.uow, backend.read_model, ids, LogNotifier(), self.mail).subscribe_to(backend.uow)
        #: the worker's dispatcher, with the channel the notifications container registers
        self.worker = DeliveryDispatcher(self.queue, {CHANNEL: self.mail.send}, backend.clock)
        self.backend = backend

    async def order_placed(self):
        order = b.order()
        async with self.backend.uow() as uow:
            await uow.orders.add(order)
            await uow.commit()
        await self.mail.drain()
        return order

    async def email(self):
        """The one e-mail queued, as the queue has it now."""
        if self.backend.name == "memory":
            ids = [d.id for d in self.backend.store.tables["deliveries"].values()]
        else:
            ids = [row["id"] for row in await _delivery_ids(self.backend.pool)]
        [delivery_id] = ids
        return await self.queue.get(delivery_id)

    async def notes(self) -> list:
        page = await self.backend.read_model.list_notifications(user_id="usr_1", unread_only=False, limit=10,
                                                                cursor=None)
        return page.results


async def _delivery_ids(pool) -> list[dict]:
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute("SELECT id FROM deliveries WHERE channel = 'email'")
        return [{"id": row[0]} for row in await cur.fetchall()]


async def test_a_notified_event_is_emailed_after_its_commit(backend, inbox):
    setup = Setup(backend, inbox.url)
    order = await setup.order_placed()
    [(sender, recipients, message)] = inbox.received
    assert (sender, recipients, message["Subject"]) == ("shop@example.com", ["usr_1@example.com"], "Order created")
    assert message.get_content().replace("\r\n", "\n").startswith(
        f"Hello Ada,\n\nOrder {order.order_number} for NGN 48.00 was created.\n\n"
        "We will write again once the payment has gone through.")
    email = await setup.email()
    assert (email.status, email.attempts, email.dedup_key) == (DeliveryStatus.DELIVERED, 1,
                                                               "usr_1:ORDER_CREATED:ord_1")
    assert message["Message-ID"] == f"<{email.id}@payport>"
    assert [n.kind for n in await setup.notes()] == ["order_created"]
    assert await setup.worker.run_once() == 0  # nothing left for the worker


async def test_a_server_refusing_for_a_while_loses_nothing_and_the_worker_retries(backend, inbox):
    setup = Setup(backend, inbox.url)
    inbox.refuse_data.append("451 4.3.0 try again later")
    await setup.order_placed()
    assert inbox.received == [] and [n.kind for n in await setup.notes()] == ["order_created"]
    email = await setup.email()
    assert (email.status, email.attempts) == (DeliveryStatus.FAILED, 1) and "451" in email.last_error
    assert await setup.worker.run_once() == 0  # not due yet
    backend.clock.advance(61)
    assert await setup.worker.run_once() == 1
    [(_, _, message)] = inbox.received
    assert message["Message-ID"] == f"<{email.id}@payport>"  # the same e-mail, attempted again
    assert (await setup.email()).status is DeliveryStatus.DELIVERED


async def test_a_recipient_refused_for_good_is_given_up_at_once(backend, inbox):
    setup = Setup(backend, inbox.url)
    inbox.refuse_recipients.append("550 5.1.1 no such user")
    await setup.order_placed()
    email = await setup.email()
    assert (email.status, email.attempts) == (DeliveryStatus.DEAD, 1) and "550" in email.last_error
    backend.clock.advance(3600)
    assert await setup.worker.run_once() == 0 and inbox.received == []
    assert len(await setup.notes()) == 1


async def test_without_mail_nothing_is_queued(backend):
    Notifications(backend.uow, backend.read_model, RandomIds(backend.clock), LogNotifier()).subscribe_to(backend.uow)
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        await uow.commit()
    memory = backend.name == "memory"
    assert (list(backend.store.tables["deliveries"].values()) if memory else await _delivery_ids(backend.pool)) == []
