"""E-mail over SMTP (aiosmtplib): the ``MailTransport`` production uses, configured by ``SMTP_URL``.

``smtp://[user:password@]host[:port][?from=address&starttls=on|off|auto&timeout=seconds]``, or
``smtps://...`` for TLS from the first byte (port 465). Plain ``smtp`` defaults to port 25 and
upgrades with STARTTLS when the server offers it (``starttls=on`` insists on it, ``off`` never
asks). A 5xx refusal of the recipient or of the message is permanent (trying again cannot help);
anything else that goes wrong (a 4xx reply, refused credentials or sender, which are ours to fix,
no answer, a dropped connection) may succeed later.
"""
from __future__ import annotations

import email.message
import email.utils
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import attrs

from application.ports.mail import EmailMessage, MailUndelivered

_STARTTLS = {"on": True, "off": False, "auto": None}


@attrs.frozen
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None
    sender: str
    timeout: float

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"SMTP_URL={url!r}: expected smtp://[user:password@]host[:port] or smtps://...")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        tls = parts.scheme == "smtps"
        starttls = query.get("starttls", "auto")
        if starttls not in _STARTTLS:
            raise ValueError(f"SMTP_URL: starttls is on, off or auto, not {starttls!r}")
        try:
            timeout = float(query.get("timeout", "10"))
        except ValueError:
            raise ValueError("SMTP_URL: timeout is a number of seconds") from None
        return cls(host=parts.hostname, port=parts.port or (465 if tls else 25),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   use_tls=tls, start_tls=False if tls else _STARTTLS[starttls],
                   sender=query.get("from") or f"payport <no-reply@{parts.hostname}>", timeout=timeout)


class SmtpTransport:
    """Sends each message in a connection of its own (notices are few; no pool to keep alive)."""

    def __init__(self, url: str) -> None:
        self.settings = SmtpSettings.from_url(url)

    def _compose(self, message: EmailMessage) -> email.message.EmailMessage:
        mime = email.message.EmailMessage()
        mime["From"] = self.settings.sender
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Date"] = email.utils.formatdate(usegmt=True)
        mime["Message-ID"] = message.message_id
        mime.set_content(message.body)  # text/plain; charset utf-8
        return mime

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(self._compose(message), hostname=s.host, port=s.port, username=s.username,
                                  password=s.password, use_tls=s.use_tls, start_tls=s.start_tls, timeout=s.timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise MailUndelivered(f"recipient refused: {'; '.join(str(r) for r in exc.recipients)}",
                                  permanent=all(code >= 500 for code in codes)) from exc
        except aiosmtplib.SMTPDataError as exc:
            raise MailUndelivered(f"message refused: {exc.code} {exc.message}", permanent=exc.code >= 500) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailUndelivered(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailUndelivered(f"{type(exc).__name__}: {exc}") from exc
