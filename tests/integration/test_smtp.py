"""The SMTP transport against a real SMTP server started here (aiosmtpd on loopback): what arrives,
and how each kind of failure is reported (permanent or worth another try)."""
from __future__ import annotations

import pytest

from adapters.smtp import SmtpSettings, SmtpTransport
from application.ports.mail import EmailMessage, MailUndelivered
from tests.smtp_server import free_port, smtp_server

MESSAGE = EmailMessage("<eml_1@payport>", "ada@example.com", "Payment successful",
                       "Hello Ada,\n\nWe received NGN 1,500.00 for order PP-1 — thank you.\n")


@pytest.fixture
def inbox():
    with smtp_server() as server:
        yield server


async def test_a_plain_text_email_arrives_as_sent(inbox):
    await SmtpTransport(inbox.url).send(MESSAGE)
    [(sender, recipients, message)] = inbox.received
    assert (sender, recipients) == ("shop@example.com", ["ada@example.com"])
    assert (message["From"], message["To"], message["Subject"], message["Message-ID"]) == (
        "shop@example.com", "ada@example.com", "Payment successful", "<eml_1@payport>")
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n") == MESSAGE.body  # lines end in CRLF on the wire; the dash survives


async def test_a_temporary_refusal_is_worth_another_try(inbox):
    inbox.refuse_data.append("451 4.3.0 mailbox busy, try later")
    with pytest.raises(MailUndelivered) as caught:
        await SmtpTransport(inbox.url).send(MESSAGE)
    assert caught.value.permanent is False and "451" in caught.value.message
    await SmtpTransport(inbox.url).send(MESSAGE)
    assert len(inbox.received) == 1


@pytest.mark.parametrize("reply", ["550 5.1.1 no such user", "554 5.7.1 message refused"])
async def test_a_permanent_refusal_says_so(inbox, reply):
    (inbox.refuse_recipients if reply.startswith("550") else inbox.refuse_data).append(reply)
    with pytest.raises(MailUndelivered) as caught:
        await SmtpTransport(inbox.url).send(MESSAGE)
    assert caught.value.permanent is True
    assert inbox.received == []


async def test_no_server_is_worth_another_try():
    with pytest.raises(MailUndelivered) as caught:
        await SmtpTransport(f"smtp://127.0.0.1:{free_port()}?timeout=2").send(MESSAGE)
    assert caught.value.permanent is False


def test_the_url_says_everything_and_bad_ones_are_refused():
    s = SmtpSettings.from_url("smtps://mailer%40shop:p%40ss@mail.example.com?from=Shop%20<shop@example.com>")
    assert (s.host, s.port, s.username, s.password, s.use_tls, s.start_tls, s.sender) == (
        "mail.example.com", 465, "mailer@shop", "p@ss", True, False, "Shop <shop@example.com>")
    s = SmtpSettings.from_url("smtp://mail.example.com:587?starttls=on&timeout=3")
    assert (s.port, s.start_tls, s.timeout, s.sender) == (587, True, 3.0, "payport <no-reply@mail.example.com>")
    for bad in ("http://mail.example.com", "smtp://", "smtp://h?starttls=maybe", "smtp://h?timeout=soon"):
        with pytest.raises(ValueError):
            SmtpSettings.from_url(bad)
