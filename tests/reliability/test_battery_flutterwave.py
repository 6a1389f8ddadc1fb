"""Flutterwave through the whole service, on the loopback fake (issue 15): the customer's retry on
the same Standard link (each attempt its own transaction under our tx_ref, ``charge.completed``
for the failures too), a success whose webhook was lost found by the worker among the attempts, a
refund not completed at creation followed to its end, and links that end with our window (failed
attempts only, or none at all: "No transaction was found")."""
from __future__ import annotations

import pytest

from tests.e2e.api import Api
from tests.reliability.conftest import FLW_HASH, service

STEP = 120  # the worker's period, on the fake clock


@pytest.fixture
def backend() -> str:
    return "memory"


@pytest.fixture
async def api(aiohttp_client, app_settings, fake, clock) -> Api:
    environ = {"FLUTTERWAVE_SECRET_KEY": "FLWSECK_TEST-battery", "FLUTTERWAVE_SECRET_HASH": FLW_HASH,
               "FLUTTERWAVE_BASE_URL": fake.url("flutterwave"), "FLUTTERWAVE_MAX_RETRY_ATTEMPT": "2",
               "FLUTTERWAVE_TIMEOUT": "0.6", "FLUTTERWAVE_CONNECT_TIMEOUT": "0.5"}
    return await service(aiohttp_client, app_settings, environ, clock)


async def worker(api: Api, clock, seconds: int = STEP) -> None:
    clock.advance(seconds)
    await api.services.maintenance.run_once()


async def deliver(api: Api, body: bytes) -> None:
    await api.json("POST", "/api/v1/payment/webhooks/flutterwave", {"verif-hash": FLW_HASH}, data=body, expect=200)


async def start(api: Api, key: str) -> tuple[dict, dict, dict]:
    h = await api.user()
    order = await api.order(h, items=(("KE-TEA-500G", 1),), ship_to=None)
    payment = await api.initiate(h, order["id"], key)
    assert (payment["gateway"], payment["status"]) == ("flutterwave", "requires_action")
    return h, order, payment


async def status(api: Api, h: dict, payment: dict, order: dict) -> tuple[str, int, str]:
    p = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h, expect=200)
    o = await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h, expect=200)
    return p["status"], p["captured_amount"], o["status"]


async def test_a_retry_on_the_same_link_pays_the_order_even_when_its_webhook_is_lost(api, fake, clock):
    h, order, payment = await start(api, "flw-b1")
    ref = payment["reference"]
    link = fake.flutterwave.links[ref]
    assert (link["session_duration"], link["max_retry_attempt"]) == (31, 2)  # our window, the configured retries

    await deliver(api, fake.flutterwave.attempt(ref, "failed", "Insufficient funds"))
    assert await status(api, h, payment, order) == ("requires_action", 0, "pending")  # the link is still open
    await worker(api, clock)
    assert await status(api, h, payment, order) == ("requires_action", 0, "pending")

    fake.flutterwave.attempt(ref, "successful")  # its charge.completed never arrives
    assert fake.flutterwave.by_reference_returns == "first"  # verify_by_reference shows the failed attempt
    await worker(api, clock)
    assert await status(api, h, payment, order) == ("succeeded", order["total"], "paid")
    assert [c.reference for c in fake.charges] == [ref]
    assert fake.flutterwave.attempt(ref, "successful") is None  # the link is done

    refund = await api.refund(h, payment["id"], "flw-b1-r", amount=order["total"] // 2)
    assert refund["status"] == "processing"  # Flutterwave answered "pending": not the end
    (at_gateway,) = fake.refunds_of("flutterwave", ref)
    await worker(api, clock, 3 * STEP)
    assert (await api.json("GET", f"/api/v1/payment/refunds/{refund['id']}", h))["status"] == "processing"
    fake.flutterwave.settle_refund(int(at_gateway.gateway_id), "completed")
    await worker(api, clock, 10 * STEP)  # the worker's looks back off with the refund's age
    assert (await api.json("GET", f"/api/v1/payment/refunds/{refund['id']}", h))["status"] == "succeeded"
    assert (await status(api, h, payment, order))[2] == "partially_refunded"
    assert len(fake.refunds_of("flutterwave", ref)) == 1  # followed, never sent again


async def test_links_end_with_our_window_and_the_order_can_be_paid_again(api, fake, clock):
    h, order, tried = await start(api, "flw-b2")
    fake.flutterwave.attempt(tried["reference"], "failed", "Do not honour")  # its webhook is lost too
    _, other_order, untouched = await start(api, "flw-b3")
    await worker(api, clock)
    assert (await status(api, h, tried, order))[0] == "requires_action"
    assert (await api.json("GET", f"/api/v1/payment/payments/{untouched['id']}", expect=200,
                           headers=api.payers[untouched["reference"]]))["status"] == "requires_action"  # not found: not paid yet

    await worker(api, clock, 32 * 60)  # past the 31-minute window: session_duration has ended both links
    assert await status(api, h, tried, order) == ("failed", 0, "pending")
    assert (await api.json("GET", f"/api/v1/payment/payments/{untouched['id']}", expect=200,
                           headers=api.payers[untouched["reference"]]))["status"] == "expired"  # never paid
    assert fake.flutterwave.attempt(tried["reference"], "successful") is None
    again = await api.initiate(h, order["id"], "flw-b2-again")
    assert again["status"] == "requires_action" and again["id"] != tried["id"]
    await deliver(api, fake.flutterwave.attempt(again["reference"], "successful"))
    assert await status(api, h, again, order) == ("succeeded", order["total"], "paid")
    assert fake.charges and all(c.reference == again["reference"] for c in fake.charges)
