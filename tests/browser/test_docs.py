"""The /docs page in a real browser: Swagger UI renders every operation from /openapi.json with no
console error and no request leaving this origin, takes a bearer token ("Authorize"), and "Try it
out" on an authenticated GET answers the signed-in user (a screenshot goes to docs/screens/docs.png)."""
from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import SCREENS


async def test_docs_authorize_and_try_an_authenticated_get(live_app, page):
    base, api = await live_app()
    h = await api.user()
    token = h["Authorization"].removeprefix("Bearer ")
    me = await api.json("GET", "/api/v1/auth/me", h, expect=200)
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))

    await page.goto(base + "/docs")
    await expect(page.locator(".information-container .title")).to_contain_text("payport")
    spec = await api.json("GET", "/openapi.json", expect=200)
    operations = sum(len(ops) for ops in spec["paths"].values())
    await expect(page.locator(".opblock")).to_have_count(operations)

    await page.locator(".auth-wrapper .authorize").click()
    dialog = page.locator(".modal-ux")
    await expect(dialog).to_contain_text("bearerAuth")
    await dialog.locator("input").fill(token)
    await dialog.get_by_role("button", name="Apply credentials").click()
    await expect(dialog.locator("button", has_text="Logout")).to_be_visible()
    await dialog.get_by_role("button", name="Close").click()

    block = page.locator("#operations-auth-auth_me")
    await block.locator(".opblock-summary").click()
    await block.get_by_role("button", name="Try it out").click()
    await block.get_by_role("button", name="Execute").click()
    live = block.locator(".live-responses-table .response")
    await expect(live.locator(".response-col_status")).to_contain_text("200")
    await expect(live.locator(".response-col_description")).to_contain_text(me["email"])
    await expect(block.locator(".request-url")).to_contain_text(base + "/api/v1/auth/me")
    await expect(block.locator(".curl")).to_contain_text("Authorization: Bearer")
    await live.evaluate("answer => answer.scrollIntoView({block: 'center'})")  # the answer in the picture
    await page.screenshot(path=str(SCREENS / "docs.png"))

    outside = [url for url in requested if not (url.startswith(base + "/") or url.startswith("data:"))]
    assert outside == [] and failed == []
    assert console_errors == [] and page.errors == []
