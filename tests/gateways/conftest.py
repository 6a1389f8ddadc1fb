"""Fixtures for the gateway adapter tests: one shared session, aioresponses, a fake clock."""
from __future__ import annotations

from types import SimpleNamespace

import aiohttp
from aioresponses import core as aioresponses_core
import pytest
from aioresponses import aioresponses

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


class _CompatResponse(aiohttp.ClientResponse):
    """aioresponses 0.7.9 predates aiohttp 3.13's required ``stream_writer`` argument."""

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


@pytest.fixture
def http(monkeypatch):
    monkeypatch.setattr(aioresponses_core, "ClientResponse", _CompatResponse)
    with aioresponses() as m:
        yield m
