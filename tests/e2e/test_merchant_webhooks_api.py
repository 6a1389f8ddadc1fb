"""Merchant webhooks through the HTTP API, on the embedded default and on Postgres + Redis: an admin
registers an endpoint pointing at a real receiver on loopback (which verifies every message with
the ``standardwebhooks`` library), a customer pays, the worker delivers order.paid and
payment.succeeded; the secret rotates with an overlap window in which both secrets verify; a
redelivery and a test event arrive; the delivery log shows every attempt; an endpoint failing for
days is disabled and the admins are told in-app and by e-mail; customers are refused; bad input
answers problem+json and changes nothing; no secret is ever in a list or detail answer."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from dependency_injector import providers

from adapters.system import FakeClock
from domain import merchant_webhooks as mw
from entrypoints.worker import registered_jobs
from tests.reliability.fake_merchant import Receiver
from tests.smtp_server import Inbox, free_port, smtp_server

BACKENDS = ("memory", "postgres")
W = "/api/v1/admin/merchant-webhooks"
PRIVATE_OK = pytest.mark.settings(webhook_allow_private=True)
SMTP_PORT = free_port()


@pytest.fixture
async def receiver():
    r = await Receiver("", lambda: datetime.now(UTC)).start()
    yield r
    await r.stop()


async def deliver(container) -> int:
    """One pass of the worker's delivery dispatcher."""
    [job] = [j for j in await registered_jobs(container) if j.name == "deliveries"]
    return await job.run_once()


async def register(api, admin, receiver, events=("order.paid", "payment.succeeded")) -> dict:
    created = await api.json("POST", W, admin, expect=201,
                             json={"url": receiver.url, "events": list(events), "description": "shop backend"})
    receiver.secrets = [created["secret"]]
    return created


async def paid_order(api) -> dict:
    h = await api.user()
    order = await api.order(h)
    payment = await api.initiate(h, order["id"], "pay-1")
    assert (await api.sandbox(payment, "approve"))["status"] == "succeeded"
    return order


async def log_of(api, admin, endpoint_id: str) -> list[dict]:
    return (await api.json("GET", f"{W}/{endpoint_id}/deliveries?limit=100", admin, expect=200))["results"]


@PRIVATE_OK
async def test_a_paid_order_reaches_the_shop_signed_and_the_log_shows_each_attempt(api, admin, container, receiver,
                                                                                    caplog):
    caplog.set_level(logging.DEBUG)
    created = await register(api, admin, receiver)
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["events"] == ["order.paid", "payment.succeeded"]
    assert (created["enabled"], created["signing_secrets"]) == (True, 1)
    # never again: not in the list, not in the detail
    for path in (W, f"{W}/{created['id']}"):
        _, raw = await api.call("GET", path, admin, expect=200)
        assert secret.encode() not in raw and b"whsec_" not in raw and b'"secret"' not in raw
    listed = await api.json("GET", W, admin, expect=200)
    assert [e["id"] for e in listed["results"]] == [created["id"]] and listed["next_cursor"] is None

    order = await paid_order(api)
    assert await deliver(container) == 2
    assert sorted(m["type"] for m in receiver.received) == ["order.paid", "payment.succeeded"]
    assert receiver.refused == []
    for m in receiver.received:
        assert m["data"]["order_id"] == order["id"] and "user_email" not in m["data"]
        assert m["data"]["amount"] == order["total"] and m["data"]["currency"] == order["currency"]
    assert await deliver(container) == 0  # delivered: never sent again

    deliveries = await log_of(api, admin, created["id"])
    assert sorted(d["type"] for d in deliveries) == ["order.paid", "payment.succeeded"]
    for d in deliveries:
        assert (d["status"], d["attempts"]) == ("delivered", 1)
        [attempt] = d["attempt_log"]
        assert attempt["status_code"] == 200 and attempt["outcome"] == "delivered"
        assert "thanks" in attempt["response"] and attempt["latency_ms"] >= 0
        assert d["webhook_id"] in {m["id"] for m in receiver.received}

    # the receiver fails once: the log shows the failed attempt, then the retry delivers
    receiver.mode = "fail"
    test = await api.json("POST", f"{W}/{created['id']}/test", admin, expect=202)
    assert (test["type"], test["status"]) == (mw.TEST_EVENT, "pending")
    await deliver(container)
    [logged] = [d for d in await log_of(api, admin, created["id"]) if d["id"] == test["id"]]
    assert logged["status"] == "failed" and logged["attempt_log"][0]["status_code"] == 503
    assert "down for maintenance" in logged["attempt_log"][0]["response"]
    assert any(r.name == "payport.access" and W in r.getMessage() for r in caplog.records)  # the lines are seen
    assert secret not in caplog.text and "whsec_" not in caplog.text  # and none carries the secret


async def test_the_routes_are_in_the_openapi_document(api):
    paths = (await api.json("GET", "/openapi.json", expect=200))["paths"]
    assert set(paths[W]) >= {"get", "post"} and set(paths[W + "/{endpoint_id}"]) >= {"get", "patch", "delete"}
    for tail in ("/rotate-secret", "/deliveries", "/deliveries/{delivery_id}/redeliver", "/test"):
        assert W + "/{endpoint_id}" + tail in paths


@PRIVATE_OK
async def test_a_rotated_secret_verifies_beside_the_old_one_during_the_overlap(api, admin, container, receiver):
    created = await register(api, admin, receiver, events=["payment.succeeded"])
    old = created["secret"]
    rotated = await api.json("POST", f"{W}/{created['id']}/rotate-secret", admin, json={"overlap_hours": 2},
                             expect=200)
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != old
    assert rotated["signing_secrets"] == 2 and rotated["previous_secret_expires_at"] is not None
    detail = await api.json("GET", f"{W}/{created['id']}", admin, expect=200)
    assert "secret" not in detail and detail["signing_secrets"] == 2

    receiver.secrets = [old]  # the shop has not switched yet
    await api.json("POST", f"{W}/{created['id']}/test", admin, expect=202)
    await deliver(container)
    receiver.secrets = [new]  # the shop switched
    await paid_order(api)
    await deliver(container)
    assert [m["type"] for m in receiver.received] == [mw.TEST_EVENT, "payment.succeeded"]
    assert receiver.refused == []

    # redelivery: the same message (same webhook-id) again, verified with the new secret
    [original] = [d for d in await log_of(api, admin, created["id"]) if d["type"] == "payment.succeeded"]
    again = await api.json("POST", f"{W}/{created['id']}/deliveries/{original['id']}/redeliver", admin, expect=202)
    assert again["id"] != original["id"] and again["webhook_id"] == original["webhook_id"]
    assert await deliver(container) == 1
    assert [m["id"] for m in receiver.received[1:]] == [original["webhook_id"]] * 2
    assert {d["status"] for d in await log_of(api, admin, created["id"])} == {"delivered"}


@PRIVATE_OK
async def test_changing_disabling_and_deleting_an_endpoint(api, admin, container, receiver):
    created = await register(api, admin, receiver, events=["payment.succeeded"])
    changed = await api.json("PATCH", f"{W}/{created['id']}", admin, expect=200,
                             json={"events": ["order.paid", "refund.failed"], "description": "ERP"})
    assert (changed["events"], changed["description"]) == (["order.paid", "refund.failed"], "ERP")
    paused = await api.json("PATCH", f"{W}/{created['id']}", admin, json={"enabled": False}, expect=200)
    assert paused["enabled"] is False
    await paid_order(api)
    assert await deliver(container) == 0 and await log_of(api, admin, created["id"]) == []  # disabled: nothing
    everything = await api.json("POST", W, admin, json={"url": receiver.url}, expect=201)
    assert everything["events"] == sorted(mw.EVENT_TYPES)  # no events given: all of them
    assert (await api.json("DELETE", f"{W}/{created['id']}", admin, expect=200)) == {"deleted": True}
    await api.call("GET", f"{W}/{created['id']}", admin, expect=404)
    assert [e["id"] for e in (await api.json("GET", W, admin, expect=200))["results"]] == [everything["id"]]


async def test_customers_and_strangers_are_refused(api):
    customer = await api.user()
    for method, path in (("GET", W), ("POST", W), ("GET", f"{W}/we_x"), ("POST", f"{W}/we_x/test"),
                         ("GET", f"{W}/we_x/deliveries"), ("POST", f"{W}/we_x/rotate-secret")):
        body = {"url": "https://shop.example/h"} if path == W else {}
        resp, _ = await api.call(method, path, customer, expect=403, json=body)
        assert resp.content_type == "application/problem+json"
        await api.call(method, path, expect=401, json=body)
    guest = await api.guest()
    await api.call("GET", W, guest, expect=401)


async def test_bad_input_is_a_problem_and_changes_nothing(api, admin):
    async def refused(method, path, status, headers=None, **kw) -> dict:
        resp, _ = await api.call(method, path, {**admin, **(headers or {})}, expect=status, **kw)
        assert resp.content_type == "application/problem+json"
        return await resp.json(content_type=None)

    # private and loopback addresses are refused without PAYPORT_WEBHOOK_ALLOW_PRIVATE
    for url in ("http://127.0.0.1:9/hooks", "http://10.0.0.7/in", "http://169.254.169.254/latest"):
        problem = await refused("POST", W, 422, json={"url": url})
        assert problem["errors"][0]["field"] == "url"
    for body in ({"url": "ftp://shop.example/x"}, {"url": "https://93.184.216.34/h", "events": ["order.teleported"]},
                 {"url": "https://93.184.216.34/h", "events": []}, {"url": "https://93.184.216.34/h", "colour": 1},
                 {"url": ""}, {}, {"url": "https://93.184.216.34/h", "description": "x" * 501}):
        await refused("POST", W, 422, json=body)
    await refused("POST", W, 400, data=b"{not json", headers={"Content-Type": "application/json"})
    assert (await api.json("GET", W, admin, expect=200))["results"] == []

    await refused("GET", f"{W}/we_missing", 404)
    await refused("PATCH", f"{W}/we_missing", 404, json={"enabled": True})
    await refused("POST", f"{W}/we_missing/test", 404)
    await refused("GET", f"{W}/we_missing/deliveries", 404)
    await refused("GET", f"{W}?limit=0", 422)
    await refused("GET", f"{W}?cursor=bogus", 422)


@PRIVATE_OK
async def test_bad_input_on_an_endpoint_changes_nothing(api, admin, receiver):
    created = await register(api, admin, receiver)
    for body in ({"events": ["nope"]}, {"url": "gopher://x"}, {"enabled": "yes"}):
        await api.call("PATCH", f"{W}/{created['id']}", admin, json=body, expect=422)
    for overlap in (-1, 1000, "soon"):
        await api.call("POST", f"{W}/{created['id']}/rotate-secret", admin, json={"overlap_hours": overlap},
                       expect=422)
    await api.call("POST", f"{W}/{created['id']}/deliveries/dlv_missing/redeliver", admin, expect=404)
    await api.call("GET", f"{W}/{created['id']}/deliveries?cursor=bogus", admin, expect=422)
    after = await api.json("GET", f"{W}/{created['id']}", admin, expect=200)
    assert {k: after[k] for k in ("url", "events", "enabled", "signing_secrets")} == \
        {"url": receiver.url, "events": ["order.paid", "payment.succeeded"], "enabled": True, "signing_secrets": 1}


@pytest.fixture
def clock(container) -> FakeClock:
    """A clock the test moves (requested before ``api``, so the app is built on it)."""
    fake = FakeClock(datetime.now(UTC))
    container.core.clock.override(providers.Object(fake))
    return fake


@pytest.fixture
def inbox():
    with smtp_server(SMTP_PORT) as server:
        yield server


@pytest.mark.settings(webhook_allow_private=True,
                      smtp_url=f"smtp://127.0.0.1:{SMTP_PORT}?from=ops@example.com&timeout=5")
async def test_an_endpoint_failing_for_days_is_disabled_and_the_admins_told(clock, api, admin, container, receiver,
                                                                           inbox: Inbox):
    created = await register(api, admin, receiver, events=["order.created"])
    receiver.mode = "fail"
    h = await api.user()
    await api.order(h)
    for attempt in range(1, mw.MAX_ATTEMPTS + 1):
        await deliver(container)  # (the customers' e-mails go on the same queue)
        assert receiver.hits == attempt
        if attempt < mw.MAX_ATTEMPTS:
            clock.advance(mw.retry_delay(attempt))
    tokens = await api.json("POST", "/api/v1/auth/login", expect=200,
                            json={"email": "admin@example.com", "password": "admin-password-1"})
    admin = {"Authorization": f"Bearer {tokens['access']}"}  # days went by: a fresh token
    endpoint = await api.json("GET", f"{W}/{created['id']}", admin, expect=200)
    assert endpoint["enabled"] is False and "failed since" in endpoint["disabled_reason"]
    [d] = await log_of(api, admin, created["id"])
    assert (d["status"], d["attempts"], len(d["attempt_log"])) == ("dead", mw.MAX_ATTEMPTS, mw.MAX_ATTEMPTS)
    notes = (await api.json("GET", "/api/v1/notifications?limit=100", admin, expect=200))["results"]
    [note] = [n for n in notes if n["kind"] == "webhook_endpoint_disabled"]
    assert created["id"] in note["body"] and "whsec_" not in note["body"]
    await api.services.mail.drain()
    jobs = {j.name: j for j in await registered_jobs(container)}
    await jobs["deliveries"].run_once()  # e-mails the background pass left
    [(_, rcpt, message)] = [m for m in inbox.received if m[2]["Subject"] == note["title"]]
    assert rcpt == ["admin@example.com"] and created["id"] in message.get_content()
    # turned back on, it hears of new events again
    receiver.mode, receiver.clock_now = "ok", clock.now  # it checks timestamps against the moved clock
    await api.json("PATCH", f"{W}/{created['id']}", admin, json={"enabled": True}, expect=200)
    await api.order(await api.user())
    await deliver(container)
    assert [m["type"] for m in receiver.received] == ["order.created"]
