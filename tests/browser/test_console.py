"""The admin console in a real browser: sign in, find an order, refund it, see the refund; a wrong
password is refused; every main screen renders (a screenshot of each is taken: see conftest's SCREENS)."""
from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import SCREENS

ADMIN = ("admin@example.com", "admin-password-1")


async def paid_order(api) -> dict:
    h = await api.user()
    order = await api.order(h)
    payment = await api.initiate(h, order["id"], "pay-browser-1")
    settled = await api.sandbox(payment, "approve")
    assert settled["status"] == "succeeded"
    return order


async def sign_in(page, base: str, email: str, password: str) -> None:
    await page.goto(base + "/admin")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_sign_in_find_an_order_refund_it_and_see_the_refund(live_app, page):
    base, api = await live_app(sandbox="on")
    order = await paid_order(api)
    await sign_in(page, base, *ADMIN)
    await expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    await page.get_by_label("Order number").fill(order["order_number"])
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(order["order_number"])
    await page.screenshot(path=str(SCREENS / "orders.png"), full_page=True)
    await rows.first.get_by_role("link", name="open").click()
    await expect(page.get_by_role("heading", name=f"Order {order['order_number']}")).to_be_visible()
    refunds = page.locator("h2:text('Refunds') + table tbody tr")
    # part of it first: the form stays for the rest
    await page.get_by_label("Amount (minor units, empty = full)").fill("100")
    await page.get_by_role("button", name="Refund").click()
    await expect(refunds).to_have_count(1)
    await expect(page.get_by_role("button", name="Refund")).to_have_count(1)
    # then the rest: a payment fully refunded offers no refund form
    await page.get_by_role("button", name="Refund").click()
    await expect(refunds).to_have_count(2)
    await expect(refunds.first).to_contain_text("succeeded")
    await expect(page.get_by_role("button", name="Refund")).to_have_count(0)
    await expect(page.get_by_text("Fully refunded.")).to_be_visible()
    await page.screenshot(path=str(SCREENS / "order-refunded.png"), full_page=True)
    # the server holds the refunds, as the JSON API tells it
    admin = await api.json("POST", "/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}, expect=200)
    listed = await api.json("GET", f"/api/v1/admin/refunds?order_number={order['order_number']}",
                            {"Authorization": f"Bearer {admin['access']}"}, expect=200)
    assert [r["status"] for r in listed["results"]] == ["succeeded", "succeeded"]
    assert sum(r["amount"] for r in listed["results"]) == order["total"]
    assert page.errors == []


async def test_a_wrong_password_is_refused(live_app, page):
    base, _ = await live_app()
    await sign_in(page, base, ADMIN[0], "not-the-password")
    await expect(page.get_by_role("alert")).not_to_be_empty()
    await expect(page.locator("#nav")).to_be_hidden()
    assert await page.evaluate("sessionStorage.getItem('payport_admin_token')") is None
    await page.screenshot(path=str(SCREENS / "sign-in.png"))


async def test_every_screen_renders(live_app, page):
    base, api = await live_app(sandbox="on")
    await paid_order(api)
    await sign_in(page, base, *ADMIN)
    await expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    for link, heading, shot in (("Payments", "Payments", "payments"), ("Refunds", "Refunds", "refunds"),
                                ("Fraud review", "Fraud review queue", "fraud"),
                                ("Reconciliation", "Reconciliation findings", "reconciliation"),
                                ("Gateways", "Gateway health", "gateways"),
                                ("Failed webhooks", "Failed webhooks", "failed-webhooks"),
                                ("Merchant webhooks", "Merchant webhooks", "merchant-webhook-endpoints")):
        await page.get_by_role("link", name=link, exact=True).click()
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        await expect(page.locator("#view .error")).to_have_count(0)
        if shot == "gateways":  # each gateway's circuit breaker, in a column of its own
            await expect(page.locator("thead")).to_contain_text("breaker")
            sandbox = page.locator("tbody tr", has_text="sandbox")
            await expect(sandbox.locator("td").nth(2)).to_have_text("closed")
        await page.screenshot(path=str(SCREENS / f"{shot}.png"), full_page=True)
    assert page.errors == []


async def test_the_console_page_sends_the_security_headers(live_app):
    base, api = await live_app()
    resp, _ = await api.call("GET", "/admin", expect=200)
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    resp, _ = await api.call("GET", "/admin/assets/console.js", expect=200)
    assert resp.headers["Content-Type"].startswith("text/javascript")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
