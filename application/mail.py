"""Use cases: e-mail beside the in-app notifications, on the durable delivery queue.

``queue`` runs inside the transaction that records the notification: the e-mail is a delivery of
channel ``email`` that commits with the in-app notification, or neither does. ``send`` is the
channel's sender: the worker's delivery dispatcher claims due e-mails and retries failed ones with
backoff until they are delivered or given up (a permanent refusal gives up at once), and an e-mail
server that is down never touches the in-app notification. So that a customer need not wait for
the worker's next pass, each commit that queued an e-mail also starts one pass of an e-mail-only
dispatcher in the background (claims keep it and the worker's apart).
"""
from __future__ import annotations

import asyncio
import logging

from application.deliveries import DeliveryDispatcher
from application.ports import Clock, IdGenerator
from application.ports.deliveries import Delivery, DeliveryOutcome, DeliveryQueue
from application.ports.mail import EmailMessage, MailTransport, MailUndelivered, NotifyingUnitOfWork
from domain.mail import render

log = logging.getLogger(__name__)

CHANNEL = "email"


class Mail:
    def __init__(self, transport: MailTransport, queue: DeliveryQueue, ids: IdGenerator, clock: Clock, *,
                 send_timeout: float = 30.0) -> None:
        self.transport, self.ids, self.clock = transport, ids, clock
        self._now = DeliveryDispatcher(queue, {CHANNEL: self.send}, clock, batch=20, send_timeout=send_timeout)
        self._passes: set[asyncio.Task] = set()

    async def queue(self, uow: NotifyingUnitOfWork, *, user_id: str, to: str, name: str | None, kind: str,
                    title: str, body: str, event_key: str) -> Delivery:
        """In ``uow``'s transaction: the e-mail repeating one notification (once per user and event)."""
        delivery = Delivery.new(self.ids.new_id("dlv"), CHANNEL, f"{user_id}:{event_key}",
                                {"to": to, "subject": title, "body": render(kind, name=name, body=body),
                                 "kind": kind, "user_id": user_id}, self.clock.now())
        await uow.deliveries.enqueue(delivery)
        uow.after_commit(self._start_a_pass)
        return delivery

    async def send(self, delivery: Delivery) -> DeliveryOutcome:
        """The ``email`` channel's sender: one attempt."""
        p = delivery.payload
        try:
            await self.transport.send(EmailMessage(f"<{delivery.id}@payport>", p["to"], p["subject"], p["body"]))
        except MailUndelivered as exc:
            return DeliveryOutcome.failed(exc.message, retry=not exc.permanent)
        return DeliveryOutcome.ok(detail="accepted by the mail server")

    async def _start_a_pass(self) -> None:
        task = asyncio.get_running_loop().create_task(self._pass())
        self._passes.add(task)
        task.add_done_callback(self._passes.discard)

    async def _pass(self) -> None:
        try:
            await self._now.run_once()
        except Exception:  # noqa: BLE001 - the e-mails stay queued: the worker's dispatcher sends them
            log.exception("sending the queued e-mails failed")

    async def drain(self) -> None:
        """Wait for the passes started in the background (tests, shutdown)."""
        while self._passes:
            await asyncio.gather(*self._passes, return_exceptions=True)
