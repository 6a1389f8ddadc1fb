"""End-to-end fixtures: the real app factory on the embedded default (memory + sandbox)."""
from __future__ import annotations

import pytest

import container as composition
from entrypoints.http.app import create_app
from tests.e2e.api import Api

FAST = {"scrypt_n": 2**10, "bootstrap_admin": "admin@example.com:admin-password-1"}


@pytest.fixture
def settings(request) -> dict:
    """FAST plus whatever a test asks for with ``@pytest.mark.settings(...)``."""
    marker = request.node.get_closest_marker("settings")
    return {**FAST, **(marker.kwargs if marker else {})}


@pytest.fixture
def container(settings):
    return composition.build_container(settings, environ={})


@pytest.fixture
async def api(aiohttp_client, container) -> Api:
    return Api(await aiohttp_client(create_app(container)))


@pytest.fixture
async def admin(api: Api) -> dict:
    tokens = await api.json("POST", "/api/v1/auth/login",
                            json={"email": "admin@example.com", "password": "admin-password-1"}, expect=200)
    return {"Authorization": f"Bearer {tokens['access']}"}
