"""The sandbox's hosted payment page in a real browser: it shows the shop, the amount and what is
paid; Approve settles; Decline with a reason puts the reason on the order's payment; an outcome
after a delay leaves the payment processing, then its webhook makes it succeed (a fake clock moves
the delay; docs/screens/sandbox.png is written here)."""
from __future__ import annotations

import re

from playwright.async_api import expect

from adapters.gateways.sandbox_script import deliver_due
from adapters.system import FakeClock
from entrypoints.http.handlers.sandbox import money
from tests.browser.conftest import SCREENS

SHOP = "Mama Put Foods"


async def payment_page(live_app, **settings) -> tuple[object, dict, dict, dict]:
    base, api = await live_app(sandbox="on", shop_name=SHOP, **settings)
    h = await api.user()
    order = await api.order(h)
    payment = await api.initiate(h, order["id"], f"pay-{order['id']}")
    return api, h, order, payment


def said(status: str) -> re.Pattern:
    return re.compile(rf'"status":\s*"{status}"')


async def payment_of(api, h: dict, payment: dict) -> dict:
    return await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h, expect=200)


async def test_the_page_shows_the_shop_the_amount_and_what_is_paid(live_app, page):
    api, _, order, payment = await payment_page(live_app)
    await page.goto(payment["authorization_url"])
    await expect(page.locator("#shop")).to_have_text(SHOP)
    await expect(page.locator("#amount")).to_have_text(money(order["total"], order["currency"]))
    await expect(page.locator("#order")).to_have_text(order["order_number"])
    await expect(page.locator("#description")).to_have_text(f"Order {order['order_number']}")
    for item in order["items"]:
        await expect(page.locator("#items")).to_contain_text(item["name"])
    await expect(page.get_by_role("button", name="Approve")).to_be_visible()
    await expect(page.get_by_role("button", name="Decline")).to_be_visible()
    await expect(page.get_by_label("Behaviour", exact=True)).to_have_value("none")
    await page.screenshot(path=str(SCREENS / "sandbox.png"), full_page=True)
    assert page.errors == []


async def test_approve_settles(live_app, page):
    api, h, order, payment = await payment_page(live_app)
    await page.goto(payment["authorization_url"])
    await page.get_by_role("button", name="Approve").click()
    await expect(page.locator("body")).to_contain_text(said("succeeded"))  # the callback's answer
    assert (await payment_of(api, h, payment))["status"] == "succeeded"
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h, expect=200))["status"] == "paid"
    assert page.errors == []


async def test_decline_with_a_reason_puts_it_on_the_order_s_payment(live_app, page):
    api, h, order, payment = await payment_page(live_app)
    await page.goto(payment["authorization_url"])
    await page.get_by_label("Decline reason").fill("insufficient_funds")
    await page.get_by_role("button", name="Decline").click()
    await expect(page.locator("body")).to_contain_text(said("failed"))
    payments = await api.json("GET", f"/api/v1/payment/payments?order_id={order['id']}", h, expect=200)
    assert [(p["status"], p["last_error"]) for p in payments["results"]] == [("failed", "insufficient_funds")]
    await page.goto(payment["authorization_url"])  # the page tells it too
    await expect(page.locator("#status")).to_have_text("declined")
    await expect(page.locator("#reason-shown")).to_contain_text("insufficient_funds")
    assert page.errors == []


async def test_success_after_a_delay_ends_succeeded(live_app, page):
    clock = FakeClock()
    api, h, order, payment = await payment_page(live_app, clock=clock)
    await page.goto(payment["authorization_url"])
    await page.get_by_label("Behaviour", exact=True).select_option("delayed")
    await page.get_by_label("Seconds").fill("30")
    await page.get_by_role("button", name="Approve").click()
    await expect(page.locator("body")).to_contain_text(said("processing"))
    assert await deliver_due(api.services.sandbox, api.services.webhooks) == 0  # not due yet
    assert (await payment_of(api, h, payment))["status"] == "processing"
    clock.advance(30)
    assert await deliver_due(api.services.sandbox, api.services.webhooks) == 1  # the webhook arrives
    assert (await payment_of(api, h, payment))["status"] == "succeeded"
    await page.goto(payment["authorization_url"])
    await expect(page.locator("#status")).to_have_text("approved")
    assert page.errors == []
