"""Fixtures for the gateway adapter tests: one shared session, aioresponses, a fake clock."""
from __future__ import annotations

import aiohttp
import pytest

from adapters.metrics import Metrics
from adapters.system import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


