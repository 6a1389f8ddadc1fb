"""Browser fixtures: the real app on a loopback port and Debian's headless chromium driven by
Playwright (scripts/browser-deps installs it; Playwright never downloads a browser of its own).

``live_app(settings)`` serves an app built from ``settings`` on a free port whose URL is also its
``public_url`` (links and origin checks then name the page the browser loaded); ``page`` is a fresh
browser page. ``SCREENS`` is where screenshots go: a temporary folder, or with
``PAYPORT_REFRESH_SCREENS=1`` the README's (docs/screens/), so that a run rewrites those only when
asked to.
"""
from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from dependency_injector import providers

import container as composition
from entrypoints.http.app import create_app
from tests.e2e.api import Api
from tests.e2e.conftest import FAST

CHROMIUM = "/usr/bin/chromium"
DOCS_SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"
SCREENS = DOCS_SCREENS if os.environ.get("PAYPORT_REFRESH_SCREENS") == "1" else \
    Path(tempfile.gettempdir()) / "payport-screens"
SCREENS.mkdir(parents=True, exist_ok=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def live_app():
    """A factory: ``await live_app(**settings)`` -> (base URL, ``Api`` on it, with the app's
    ``container`` beside it); stopped after the test. ``clock``: the app's clock (a FakeClock the test moves)."""
    clients = []

    async def start(clock=None, **settings):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        container = composition.build_container({**FAST, "public_url": base, **settings}, environ={})
        if clock is not None:
            container.core.clock.override(providers.Object(clock))
        server = TestServer(create_app(container), host="127.0.0.1", port=port)
        client = TestClient(server)
        await client.start_server()
        clients.append(client)
        api = Api(client)
        api.container = container
        return base, api

    yield start
    for client in clients:
        await client.close()


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: run scripts/browser-deps"
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser):
    context = await browser.new_context(viewport={"width": 1200, "height": 800})
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "CSP" in msg.text else None)
    tab.errors = errors  # script errors and CSP refusals the test may assert are none
    yield tab
    await context.close()
