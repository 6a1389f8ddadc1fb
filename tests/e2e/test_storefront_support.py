"""Support over HTTP, on both backends: tickets (a customer's own only; an order of theirs only),
staff replies telling the customer in-app and by e-mail (a real SMTP server started here), the
status table and reopening, the contact form limited per client IP, the FAQ cached and invalidated
on every admin write; bad input throughout."""
from __future__ import annotations

import pytest

from entrypoints.worker import registered_jobs
from tests.smtp_server import Inbox, free_port, smtp_server

BACKENDS = ("memory", "postgres")
API = "/api/v1"
T = f"{API}/support/tickets"
SMTP_PORT = free_port()


@pytest.fixture
def inbox():
    with smtp_server(SMTP_PORT) as server:
        yield server


async def _login(api, email: str, password: str = "correct horse battery") -> dict:
    """A new session (after the clock moved past the tokens' lifetime)."""
    tokens = await api.json("POST", f"{API}/auth/login", json={"email": email, "password": password}, expect=200)
    return {"Authorization": f"Bearer {tokens['access']}"}


async def _admin_id(api, admin) -> str:
    return (await api.json("GET", f"{API}/auth/me", admin, expect=200))["id"]


@pytest.mark.settings(smtp_url=f"smtp://127.0.0.1:{SMTP_PORT}?from=help@example.com&timeout=5")
async def test_a_ticket_thread_between_a_customer_and_staff(api, admin, inbox: Inbox):
    alice = await api.user("Alice", email="alice@example.com")
    order = await api.order(alice, ship_to=None)
    ticket = await api.json("POST", T, alice, expect=201, json={
        "subject": "Where is my rice?", "body": "Ordered on Monday.", "order_id": order["id"]})
    assert (ticket["status"], ticket["order_id"], ticket["message_count"]) == ("open", order["id"], 1)
    assert ticket["messages"][0]["author_role"] == "customer"

    staff = await api.json("GET", f"{T}?status=open&limit=100", admin, expect=200)
    assert ticket["id"] in {t["id"] for t in staff["results"]}
    assigned = await api.json("POST", f"{API}/admin/support/tickets/{ticket['id']}/assign", admin,
                              json={"assignee_id": await _admin_id(api, admin)}, expect=200)
    assert assigned["assignee_id"] is not None
    replied = await api.json("POST", f"{T}/{ticket['id']}/messages", admin, json={"body": "It left Lagos today."},
                             expect=201)
    assert (replied["status"], [m["author_role"] for m in replied["messages"]]) == ("pending", ["customer", "staff"])
    assert "support_reply" in await api.kinds(alice)
    await api.services.mail.drain()
    [message] = [m for _, rcpt, m in inbox.received if m["Subject"] == "New reply to your ticket"]
    assert message["To"] == "alice@example.com"
    assert 'Support replied to "Where is my rice?": It left Lagos today.' in message.get_content()

    answered = await api.json("POST", f"{T}/{ticket['id']}/messages", alice, json={"body": "Thanks!"}, expect=201)
    assert answered["status"] == "open"
    resolved = await api.json("POST", f"{API}/admin/support/tickets/{ticket['id']}/status", admin,
                              json={"status": "resolved"}, expect=200)
    assert resolved["settled_at"] is not None
    assert (await api.json("POST", f"{T}/{ticket['id']}/reopen", alice, expect=200))["status"] == "open"
    await api.json("POST", f"{API}/admin/support/tickets/{ticket['id']}/status", admin, json={"status": "closed"},
                   expect=200)
    again = await api.json("POST", f"{API}/admin/support/tickets/{ticket['id']}/status", admin,
                           json={"status": "pending"}, expect=409)
    assert again["code"] == "illegal_transition"
    mine = await api.json("GET", T, alice, expect=200)
    assert [(t["id"], t["status"], t["message_count"]) for t in mine["results"]] == [(ticket["id"], "closed", 3)]


@pytest.mark.settings(smtp_url=f"smtp://127.0.0.1:{SMTP_PORT}?from=help@example.com&timeout=5")
async def test_a_reply_email_the_server_refused_for_a_while_is_sent_by_the_worker(clock, api, admin, container,
                                                                                 inbox: Inbox):
    alice = await api.user("Alice", email="alice.retry@example.com")
    ticket = await api.json("POST", T, alice, json={"subject": "Refund?", "body": "Still waiting."}, expect=201)
    inbox.refuse_data.append("451 4.3.0 mailbox busy, try later")
    await api.json("POST", f"{T}/{ticket['id']}/messages", admin, json={"body": "Sent today."}, expect=201)
    await api.services.mail.drain()

    def replies() -> list:
        return [m for _, _, m in inbox.received if m["Subject"] == "New reply to your ticket"]
    assert replies() == [] and "support_reply" in await api.kinds(alice)  # the notice is there at once
    [deliveries] = [job for job in await registered_jobs(container) if job.name == "deliveries"]
    assert await deliveries.run_once() == 0  # not due yet
    clock.advance(10)  # past the first backoff (at most 5 s)
    assert await deliveries.run_once() == 1
    [message] = replies()
    assert message["To"] == "alice.retry@example.com" and "Sent today." in message.get_content()
    assert await api.kinds(alice) == ["support_reply"]  # one notice, however many tries the e-mail took


async def test_tickets_are_their_customers_and_bad_ones_are_refused(api, admin):
    alice, bob = await api.user("Alice"), await api.user("Bob")
    bobs_order = await api.order(bob, ship_to=None)
    problem = await api.json("POST", T, alice, json={"subject": "Hi", "body": "x", "order_id": bobs_order["id"]},
                             expect=404)
    assert problem["code"] == "not_found"
    ticket = await api.json("POST", T, alice, json={"subject": "Hi", "body": "Hello"}, expect=201)
    for method, path, body in (("GET", f"{T}/{ticket['id']}", None),
                               ("POST", f"{T}/{ticket['id']}/messages", {"body": "me too"}),
                               ("POST", f"{T}/{ticket['id']}/reopen", None)):
        await api.json(method, path, bob, json=body, expect=404)
    assert (await api.json("GET", T, bob, expect=200))["results"] == []
    await api.json("POST", f"{API}/admin/support/tickets/{ticket['id']}/status", alice, json={"status": "closed"},
                   expect=403)
    await api.json("POST", f"{API}/admin/support/tickets/{ticket['id']}/assign", admin,
                   json={"assignee_id": "usr_nobody"}, expect=422)
    guest = await api.guest()
    await api.json("POST", T, guest, json={"subject": "Hi", "body": "x"}, expect=403)
    cases = [
        ("POST", T, {"subject": "", "body": "x"}, 422),
        ("POST", T, {"subject": "Hi", "body": "x", "status": "closed"}, 422),
        ("POST", T, {"subject": "x" * 201, "body": "x"}, 422),
        ("POST", f"{T}/{ticket['id']}/messages", {"body": ""}, 422),
        ("GET", f"{T}?status=lost", None, 422),
        ("GET", f"{T}/tkt_nope", None, 404),
    ]
    for method, path, body, status in cases:
        await api.json(method, path, alice, json=body, expect=status)
    await api.json("POST", f"{API}/admin/support/tickets/{ticket['id']}/status", admin, json={"status": "lost"},
                   expect=422)
    await api.json("GET", T, expect=401)


async def test_the_contact_form_takes_guests_and_is_limited_per_client_ip(api, admin):
    sent = await api.json("POST", f"{API}/support/contact", expect=201,
                          json={"name": "Ngozi", "email": "ngozi@example.com", "message": "Do you ship to Abuja?"})
    assert sent["received"] is True
    await api.json("POST", f"{API}/support/contact", json={"name": "N", "email": "not-an-email", "message": "m"},
                   expect=422)
    await api.json("POST", f"{API}/support/contact", json={"name": "N", "email": "n@example.com"}, expect=422)
    for _ in range(2):
        await api.json("POST", f"{API}/support/contact", expect=201,
                       json={"name": "N", "email": "n@example.com", "message": "again"})
    resp, _ = await api.call("POST", f"{API}/support/contact", expect=429,
                             json={"name": "N", "email": "n@example.com", "message": "and again"})
    assert int(resp.headers["Retry-After"]) > 0
    inbox = await api.json("GET", f"{API}/admin/support/contact?limit=100", admin, expect=200)
    assert {m["email"] for m in inbox["results"]} == {"ngozi@example.com", "n@example.com"}
    await api.json("GET", f"{API}/admin/support/contact", await api.user(), expect=403)


async def test_ticket_lists_page_by_cursor_and_staff_filter_by_assignee(api, admin):
    h = await api.user()
    ids = [(await api.json("POST", T, h, json={"subject": f"Question {n}", "body": "?"}, expect=201))["id"]
           for n in range(3)]
    first = await api.json("GET", f"{T}?limit=2", h, expect=200)
    rest = await api.json("GET", f"{T}?limit=2&cursor={first['next_cursor']}", h, expect=200)
    assert [t["id"] for t in first["results"] + rest["results"]] == ids[::-1] and rest["next_cursor"] is None
    me = await _admin_id(api, admin)
    await api.json("POST", f"{API}/admin/support/tickets/{ids[1]}/assign", admin, json={"assignee_id": me},
                   expect=200)
    mine = await api.json("GET", f"{T}?assignee_id={me}&limit=100", admin, expect=200)
    assert [t["id"] for t in mine["results"]] == [ids[1]]
    theirs = await api.json("GET", f"{T}?assignee_id={me}", h, expect=200)  # a customer's filter: their own, all
    assert [t["id"] for t in theirs["results"]] == ids[::-1]
    assert (await api.json("GET", f"{T}?cursor=nonsense", h, expect=422))["errors"][0]["field"] == "cursor"
    contact = await api.json("GET", f"{API}/admin/support/contact?limit=1&cursor=nonsense", admin, expect=422)
    assert contact["errors"][0]["field"] == "cursor"


@pytest.mark.settings(trusted_proxies=["127.0.0.1"])
async def test_the_contact_limit_is_each_client_addresses_own(api):
    here, there = {"X-Forwarded-For": "198.51.100.7"}, {"X-Forwarded-For": "198.51.100.8"}
    body = {"name": "N", "email": "n@example.com", "message": "Hello"}
    for _ in range(5):
        await api.json("POST", f"{API}/support/contact", here, json=body, expect=201)
    await api.json("POST", f"{API}/support/contact", here, json=body, expect=429)
    await api.json("POST", f"{API}/support/contact", {**here, **await api.guest()}, json=body, expect=429)
    await api.json("POST", f"{API}/support/contact", there, json=body, expect=201)


async def test_the_faq_is_cached_and_every_admin_write_shows_at_once(api, admin):
    resp, _ = await api.call("GET", f"{API}/faq", expect=200)
    faq, etag = await resp.json(), resp.headers["ETag"]
    assert [s["slug"] for s in faq["sections"]] == ["ordering", "payments", "delivery", "returns"]
    await api.call("GET", f"{API}/faq", {"If-None-Match": etag}, expect=304)
    entry = await api.json("POST", f"{API}/admin/faq/entries", admin, expect=201,
                           json={"section": "payments", "question": "Do you take M-Pesa?", "answer": "Soon.",
                                 "position": 0})
    payments = next(s for s in (await api.json("GET", f"{API}/faq"))["sections"] if s["slug"] == "payments")
    assert payments["entries"][0]["question"] == "Do you take M-Pesa?"
    await api.json("PATCH", f"{API}/admin/faq/entries/{entry['id']}", admin, json={"answer": "Yes."}, expect=200)
    await api.json("PUT", f"{API}/admin/faq/sections/payments", admin, json={"title": "Paying", "position": 9},
                   expect=200)
    sections = (await api.json("GET", f"{API}/faq"))["sections"]
    assert (sections[-1]["title"], sections[-1]["entries"][0]["answer"]) == ("Paying", "Yes.")
    assert (await api.json("DELETE", f"{API}/admin/faq/sections/payments", admin, expect=409))["code"] == "conflict"
    await api.json("DELETE", f"{API}/admin/faq/entries/{entry['id']}", admin, expect=200)
    await api.json("DELETE", f"{API}/admin/faq/entries/{entry['id']}", admin, expect=404)
    h = await api.user()
    await api.json("POST", f"{API}/admin/faq/entries", h, expect=403,
                   json={"section": "payments", "question": "Q", "answer": "A"})
    for body in ({"section": "nope", "question": "Q", "answer": "A"}, {"section": "payments", "question": "",
                                                                         "answer": "A"}):
        await api.json("POST", f"{API}/admin/faq/entries", admin, json=body, expect=422)
    await api.json("PUT", f"{API}/admin/faq/sections/Bad-Slug", admin, json={"title": "x"}, expect=422)  # a slug is lower-case
    await api.json("PUT", f"{API}/admin/faq/sections/Bad%20Slug", admin, json={"title": "x"}, expect=404)  # no such path


async def test_a_ticket_settled_longer_ago_than_the_window_is_not_reopened(clock, api, admin):
    h = await api.user("Ada", email="late@example.com")
    ticket = await api.json("POST", T, h, json={"subject": "Broken lid", "body": "It came broken."}, expect=201)
    await api.json("POST", f"{API}/admin/support/tickets/{ticket['id']}/status", admin, json={"status": "resolved"},
                   expect=200)
    clock.advance(14 * 86400)  # the last moment of the window: still reopened
    h = await _login(api, "late@example.com")
    assert (await api.json("POST", f"{T}/{ticket['id']}/reopen", h, expect=200))["status"] == "open"
    admin = await _login(api, "admin@example.com", "admin-password-1")
    await api.json("POST", f"{API}/admin/support/tickets/{ticket['id']}/status", admin, json={"status": "closed"},
                   expect=200)
    clock.advance(14 * 86400 + 1)
    h = await _login(api, "late@example.com")
    for path, body in ((f"{T}/{ticket['id']}/reopen", None), (f"{T}/{ticket['id']}/messages", {"body": "Hello?"})):
        problem = await api.json("POST", path, h, json=body, expect=409)
        assert problem["code"] == "reopen_window_passed", path
    after = await api.json("GET", f"{T}/{ticket['id']}", h, expect=200)
    assert (after["status"], after["message_count"]) == ("closed", 1)


async def test_opening_a_ticket_or_replying_with_an_idempotency_key_is_done_once(api):
    h = await api.user()
    opened = {"subject": "Invoice", "body": "Please send one."}
    first, raw1 = await api.call("POST", T, {**h, "Idempotency-Key": "tkt-1"}, json=opened, expect=201)
    again, raw2 = await api.call("POST", T, {**h, "Idempotency-Key": "tkt-1"}, json=opened, expect=201)
    assert raw1 == raw2 and again.headers["Idempotent-Replayed"] == "true"
    other = await api.json("POST", T, {**h, "Idempotency-Key": "tkt-1"}, json={**opened, "body": "x"}, expect=422)
    assert other["code"] == "idempotency_key_reused"
    ticket_id = (await first.json())["id"]
    for _ in range(2):
        await api.json("POST", f"{T}/{ticket_id}/messages", {**h, "Idempotency-Key": "msg-1"},
                       json={"body": "Any news?"}, expect=201)
    [listed] = (await api.json("GET", T, h, expect=200))["results"]
    assert (listed["id"], listed["message_count"]) == (ticket_id, 2)
