"""A real SMTP server on loopback for the e-mail tests (aiosmtpd, in a thread of its own), which
keeps what arrived and can be told to refuse the next messages."""
from __future__ import annotations

import email
import email.message
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import attrs
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@attrs.define
class Inbox:
    """What the server accepted; ``refuse_data``/``refuse_recipients`` set the replies to come."""

    received: list[tuple[str, list[str], email.message.EmailMessage]] = attrs.field(factory=list)
    refuse_data: list[str] = attrs.field(factory=list)
    refuse_recipients: list[str] = attrs.field(factory=list)
    port: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if self.refuse_recipients:
            return self.refuse_recipients.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.refuse_data:
            return self.refuse_data.pop(0)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=shop@example.com&timeout=5"


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[Inbox]:
    inbox = Inbox(port=port or free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
