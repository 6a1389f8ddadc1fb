"""Shared test configuration: the aioresponses fixture for outgoing gateway calls."""
from __future__ import annotations

from types import SimpleNamespace

import aiohttp
import pytest
from aioresponses import aioresponses
from aioresponses import core as aioresponses_core


class _CompatResponse(aiohttp.ClientResponse):
    """aioresponses 0.7.9 predates aiohttp 3.13's required ``stream_writer`` argument."""

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


@pytest.fixture
def http(monkeypatch):
    """Mocks every outgoing HTTP call except to our own test server on 127.0.0.1."""
    monkeypatch.setattr(aioresponses_core, "ClientResponse", _CompatResponse)
    with aioresponses(passthrough=["http://127.0.0.1"]) as m:
        yield m
