"""The sandbox's payment page and its scripted behaviours, over HTTP with a fake clock: what the page
shows, a decline's reason reaching the payment, a slow answer, a status check that times out (our
side asks again later), and an outcome after a delay (processing, then the webhook)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from container import resolve
from entrypoints.http.handlers.sandbox import money

P = "/api/v1/payment/payments"


async def sandbox_jobs(container) -> list:
    return [j for j in await resolve(container.payments.jobs) if j.name == "sandbox_delayed_webhooks"]


async def delayed_webhooks(container):
    (job,) = await sandbox_jobs(container)
    return job


async def paying(api) -> tuple[dict, dict, dict]:
    h = await api.user()
    order = await api.order(h)
    return h, order, await api.initiate(h, order["id"], f"pay-{order['id']}")


async def press(api, payment: dict, outcome: str, expect: int = 303, query: str = "", **fields) -> str:
    """Load the page (as a browser: its cookie), press ``outcome`` with the scripted ``fields``;
    returns the redirect's Location."""
    page = urlsplit(payment["authorization_url"]).path
    _, html = await api.call("GET", page + query, expect=200)
    csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', html).group(1).decode()
    resp, _ = await api.call("POST", page, data={"outcome": outcome, "csrf": csrf, **fields},
                             allow_redirects=False, expect=expect)
    return resp.headers.get("Location", "")


async def status(api, h: dict, payment: dict) -> dict:
    return await api.json("GET", f"{P}/{payment['id']}", h, expect=200)


def test_amounts_are_shown_with_their_currency_s_exponent():
    assert money(150000, "NGN") == "NGN 1,500.00"
    assert money(1500, "JPY") == "JPY 1,500"
    assert money(1500, "KWD") == "KWD 1.500"
    assert money(5, "USD") == "USD 0.05"


@pytest.mark.settings(shop_name="Mama Put <Foods>")
async def test_the_page_says_what_is_paid_to_whom_and_how_much(api):
    h, order, payment = await paying(api)
    resp, html = await api.call("GET", urlsplit(payment["authorization_url"]).path, expect=200)
    text = html.decode()
    assert "Pay <span id=\"shop\">Mama Put &lt;Foods&gt;</span>" in text  # the setting, escaped
    assert f'<dd id="order">{order["order_number"]}</dd>' in text
    assert f"Order {order['order_number']}" in text  # the description
    assert money(order["total"], order["currency"]) in text and order["currency"] == "NGN"
    lines = sum(item["unit_price"] * item["quantity"] for item in order["items"])
    for item in order["items"]:
        assert item["name"] in text and money(item["unit_price"] * item["quantity"], "NGN") in text
    assert order["total"] != lines and money(order["total"] - lines, "NGN") in text  # shipping and tax
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["Cache-Control"] == "no-store"
    assert "SameSite=Strict" in resp.headers["Set-Cookie"] and "HttpOnly" in resp.headers["Set-Cookie"]


async def test_the_query_preselects_a_behaviour_and_a_bad_one_is_refused(api):
    _, _, payment = await paying(api)
    page = urlsplit(payment["authorization_url"]).path
    _, html = await api.call("GET", page + "?behaviour=delayed&seconds=45&reason=card_declined", expect=200)
    assert b'<option value="delayed" selected>' in html and b'value="45"' in html and b'value="card_declined"' in html
    for query, field in (("?behaviour=later", "behaviour"), ("?seconds=-1", "seconds"), ("?seconds=3601", "seconds"),
                         ("?reason=" + "x" * 121, "reason"), ("?reason=a%0Ab", "reason")):
        problem = await api.json("GET", page + query, expect=422)
        assert problem["errors"][0]["field"] == field, query


async def test_a_bad_script_in_the_form_changes_nothing(api):
    h, _, payment = await paying(api)
    await press(api, payment, "approve", expect=422, behaviour="sideways")
    await press(api, payment, "approve", expect=422, seconds="soon")
    assert (await status(api, h, payment))["status"] == "requires_action"
    assert (await api.services.sandbox.transaction(payment["reference"]))["status"] == "pending"


async def test_a_decline_s_reason_is_the_payment_s_failure_reason(api):
    h, order, payment = await paying(api)
    location = await press(api, payment, "decline", reason="insufficient_funds")
    assert (await api.json("GET", location, expect=200))["status"] == "failed"
    failed = await status(api, h, payment)
    assert failed["status"] == "failed" and failed["last_error"] == "insufficient_funds"
    _, html = await api.call("GET", urlsplit(payment["authorization_url"]).path, expect=200)
    assert b"insufficient_funds" in html and b'name="outcome"' not in html  # shown; no buttons any more


async def test_a_decline_without_a_reason_says_where_it_was_declined(api):
    h, _, payment = await paying(api)
    await press(api, payment, "decline")
    assert (await status(api, h, payment))["last_error"] == "declined on the sandbox page"


async def test_a_slow_answer_waits_its_seconds_then_settles(clock, api):
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        clock.advance(seconds)
    api.services.sandbox.sleep = sleep
    h, _, payment = await paying(api)
    before = clock.now()
    await press(api, payment, "approve", behaviour="slow", seconds="7")
    assert waited == [7] and (clock.now() - before).total_seconds() == 7
    assert (await status(api, h, payment))["status"] == "succeeded"
    _, _, other = await paying(api)
    await press(api, other, "approve", behaviour="slow", seconds="600")
    assert waited == [7, 30]  # capped: a slow answer never holds a connection for long


async def test_a_timeout_leaves_the_outcome_unknown_until_a_later_status_query(clock, api):
    h, order, payment = await paying(api)
    location = await press(api, payment, "approve", behaviour="timeout", seconds="90")
    problem = await api.json("GET", location, expect=504)  # the callback's status check got no answer
    assert problem["code"] == "gateway_timeout"
    assert (await status(api, h, payment))["status"] == "requires_action"  # no webhook came either
    clock.advance(60)
    await api.json("GET", f"{P}/{payment['id']}/check-status", h, expect=504)  # still silent
    assert (await status(api, h, payment))["status"] == "requires_action"
    clock.advance(121)  # the gateway answers again, and the worker's status query is due
    assert await api.services.maintenance.settle_open_payments(100) == 1
    assert (await status(api, h, payment))["status"] == "succeeded"
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h, expect=200))["status"] == "paid"


async def test_success_after_a_delay_is_processing_then_succeeds_with_its_webhook(clock, api, container):
    h, order, payment = await paying(api)
    location = await press(api, payment, "approve", behaviour="delayed", seconds="30")
    assert (await api.json("GET", location, expect=200))["status"] == "processing"
    assert (await status(api, h, payment))["status"] == "processing"
    job = await delayed_webhooks(container)
    clock.advance(29)
    assert await job.run_once() == 0  # not due yet
    assert (await status(api, h, payment))["status"] == "processing"
    clock.advance(1)
    assert await job.run_once() == 1  # the webhook arrives
    paid = await status(api, h, payment)
    assert paid["status"] == "succeeded" and paid["captured_amount"] == order["total"]
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h, expect=200))["status"] == "paid"
    assert await job.run_once() == 0  # delivered once
    admin = await api.json("POST", "/api/v1/auth/login",
                           json={"email": "admin@example.com", "password": "admin-password-1"}, expect=200)
    inbox = await api.json("GET", "/api/v1/admin/webhooks/failed", {"Authorization": f"Bearer {admin['access']}"},
                           expect=200)
    assert inbox["results"] == []


async def test_a_delayed_decline_keeps_its_reason(clock, api, container):
    h, _, payment = await paying(api)
    location = await press(api, payment, "decline", behaviour="delayed", seconds="5", reason="do_not_honor")
    assert (await api.json("GET", location, expect=200))["status"] == "processing"
    clock.advance(5)
    assert await (await delayed_webhooks(container)).run_once() == 1
    failed = await status(api, h, payment)
    assert failed["status"] == "failed" and failed["last_error"] == "do_not_honor"


@pytest.mark.settings(sandbox="off")
async def test_without_the_sandbox_there_is_no_delivery_job(container):
    assert await sandbox_jobs(container) == []
