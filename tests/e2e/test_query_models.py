"""Query strings are parsed by the route's query model when the handler reads ``ctx.query``: on a
cached list's miss, never on its hit, and a query refused is never stored."""
from __future__ import annotations

import pytest

from entrypoints.http import endpoint
from entrypoints.http.queries import OrdersQuery, ProductsQuery


@pytest.fixture
def parsed(monkeypatch) -> list:
    calls: list = []
    real = endpoint.parse_query

    def counting(model, request):
        calls.append(model)
        return real(model, request)
    monkeypatch.setattr(endpoint, "parse_query", counting)
    return calls


async def test_a_cached_list_parses_its_query_on_a_miss_only(api, parsed):
    h = await api.user()
    first = await api.json("GET", "/api/v1/payment/orders?limit=5", h, expect=200)
    assert parsed == [OrdersQuery]
    assert await api.json("GET", "/api/v1/payment/orders?limit=5", h, expect=200) == first  # a hit: not parsed
    assert await api.json("GET", "/api/v1/products?search=rice&limit=2", expect=200)
    assert await api.json("GET", "/api/v1/products?limit=2&search=rice", expect=200)  # the same list
    assert parsed == [OrdersQuery, ProductsQuery]
    for _ in range(2):  # refused on every request: a refusal is never stored
        problem = await api.json("GET", "/api/v1/payment/orders?limit=0", h, expect=422)
        assert (problem["code"], problem["errors"]) == ("invalid_value", [
            {"field": "limit", "message": "limit must be a whole number from 1 to 100"}])
    assert parsed == [OrdersQuery, ProductsQuery, OrdersQuery, OrdersQuery]


async def test_a_query_reaches_the_handler_typed(api):
    h = await api.user()
    await api.order(h, ship_to=None)
    assert [o["status"] for o in (await api.json("GET", "/api/v1/payment/orders?status=pending", h))["results"]] \
        == ["pending"]
    assert (await api.json("GET", "/api/v1/payment/orders?status=paid&limit=100", h))["results"] == []
    assert (await api.json("GET", "/api/v1/payment/orders?status=", h))["results"]  # empty: no filter
