"""A ``MailTransport`` that keeps what it is given: the tests' mail server, and a look at what would
have been sent."""
from __future__ import annotations

from application.ports.mail import EmailMessage, MailUndelivered


class MemoryMailbox:
    """Keeps every message it accepts (``sent``); ``refuse`` makes the next sends fail
    (``permanent`` as a 5xx refusal would)."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self._refusals: list[tuple[str, bool]] = []

    def refuse(self, times: int, *, permanent: bool = False, error: str = "451 try again later") -> None:
        self._refusals += [(error, permanent)] * times

    async def send(self, message: EmailMessage) -> None:
        if self._refusals:
            error, permanent = self._refusals.pop(0)
            raise MailUndelivered(error, permanent=permanent)
        self.sent.append(message)
