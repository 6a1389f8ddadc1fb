"""The console's merchant-webhook screens in a real browser, against the real API and a real receiver
on loopback that verifies every delivery with ``standardwebhooks``: register an endpoint and see
its secret once, pay an order, see the deliveries and their attempts, redeliver one, send a test
event, rotate the secret (shown once more)."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.async_api import expect

from domain import merchant_webhooks as mw
from entrypoints.http.handlers.console import ASSETS
from entrypoints.worker import registered_jobs
from tests.browser.conftest import SCREENS
from tests.browser.test_console import ADMIN, paid_order, sign_in
from tests.reliability.fake_merchant import Receiver


async def deliver(container) -> None:
    [job] = [j for j in await registered_jobs(container) if j.name == "deliveries"]
    await job.run_once()


def test_the_console_offers_exactly_the_event_types_the_domain_knows():
    listed = re.search(r"const EVENT_TYPES = \[([^\]]*)\]", (ASSETS / "console.js").read_text()).group(1)
    assert sorted(re.findall(r'"([a-z_.]+)"', listed)) == sorted(mw.EVENT_TYPES)


async def test_register_see_the_secret_once_see_deliveries_and_redeliver(live_app, page):
    base, api = await live_app(sandbox="on", webhook_allow_private=True)
    receiver = await Receiver("", lambda: datetime.now(UTC)).start()
    try:
        await sign_in(page, base, *ADMIN)
        await page.get_by_role("link", name="Merchant webhooks", exact=True).click()
        await expect(page.get_by_role("heading", name="Merchant webhooks", exact=True)).to_be_visible()
        await page.get_by_label("URL").fill(receiver.url)
        await page.get_by_label("Description").fill("shop backend")
        await page.get_by_label("order.paid").check()
        await page.get_by_label("payment.succeeded").check()
        await page.get_by_role("button", name="Register").click()
        secret_box = page.locator("#secret")
        await expect(secret_box).to_contain_text("whsec_")
        secret = (await secret_box.text_content()).strip()
        receiver.secrets = [secret]
        rows = page.locator("tbody tr")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("order.paid, payment.succeeded")

        # once: the list read again, and the endpoint's page, never show it
        await page.reload()
        await expect(page.locator("tbody tr")).to_have_count(1)
        await expect(page.locator("#secret")).to_have_count(0)
        assert secret not in await page.content()

        await paid_order(api)
        await deliver(api.container)
        assert sorted(m["type"] for m in receiver.received) == ["order.paid", "payment.succeeded"]
        await page.locator("tbody tr").first.get_by_role("link", name="open").click()
        await expect(page.get_by_role("heading", name=re.compile("^Merchant webhook we_"))).to_be_visible()
        assert secret not in await page.content()
        deliveries = page.locator("h2:text('Deliveries') + table tbody tr")
        await expect(deliveries).to_have_count(2)
        for i in range(2):
            await expect(deliveries.nth(i)).to_contain_text("delivered")
            await expect(deliveries.nth(i)).to_contain_text("#1 200")

        # redeliver one: a new delivery of the same message, which the worker sends
        await deliveries.first.get_by_role("button", name="Redeliver").click()
        await expect(deliveries).to_have_count(3)
        await expect(deliveries.first).to_contain_text("pending")
        await deliver(api.container)
        await page.get_by_role("button", name="Send test event").click()
        await expect(deliveries).to_have_count(4)
        await deliver(api.container)
        await page.reload()
        await expect(deliveries).to_have_count(4)
        await expect(page.locator("h2:text('Deliveries') + table")).not_to_contain_text("pending")
        assert [m["type"] for m in receiver.received][2:] in (
            [receiver.received[0]["type"], mw.TEST_EVENT], [receiver.received[1]["type"], mw.TEST_EVENT])
        assert receiver.refused == []
        await page.screenshot(path=str(SCREENS / "merchant-webhooks.png"), full_page=True)

        # rotate: the new secret shown once, and both verify during the overlap
        page.on("dialog", lambda dialog: dialog.accept())
        await page.get_by_role("button", name="Rotate secret").click()
        await expect(page.locator("#secret")).to_contain_text("whsec_")
        new = (await page.locator("#secret").text_content()).strip()
        assert new != secret
        receiver.secrets = [new]
        await page.get_by_role("button", name="Send test event").click()
        await expect(deliveries).to_have_count(5)
        await deliver(api.container)
        assert [m["type"] for m in receiver.received][-1] == mw.TEST_EVENT and receiver.refused == []
        assert page.errors == []
    finally:
        await receiver.stop()


async def test_a_url_the_guard_refuses_is_explained_and_nothing_is_registered(live_app, page):
    base, api = await live_app()  # PAYPORT_WEBHOOK_ALLOW_PRIVATE off: loopback is refused
    await sign_in(page, base, *ADMIN)
    await page.get_by_role("link", name="Merchant webhooks", exact=True).click()
    await page.get_by_label("URL").fill("http://127.0.0.1:9/hooks")
    await page.get_by_role("button", name="Register").click()
    await expect(page.locator("form[aria-label='register an endpoint'] .error")).to_contain_text("may not be called")
    await expect(page.locator("#secret")).to_have_count(0)
    assert await api.services.merchant_webhooks.endpoints.list() == []
    assert page.errors == []
