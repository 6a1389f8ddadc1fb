"""How routes are declared: a cached read must be a plain GET whose handler names what it reads."""
from __future__ import annotations

import pytest

from entrypoints.http import handlers  # noqa: F401 - registers the routes
from entrypoints.http.cached import CachedRead
from entrypoints.http.endpoint import ROUTES, Route


def read(ctx) -> CachedRead:
    raise AssertionError("not called at declaration")


async def coroutine(ctx):
    raise AssertionError("not called at declaration")


def test_a_cached_read_is_a_plain_get_with_a_plain_handler():
    route = Route("GET", "/x/{id}", read, "one x", "x", cached=True)
    assert route.plain and route.cached


@pytest.mark.parametrize("method, handler, options", [
    ("GET", coroutine, {}),  # async: the wrapper would get a coroutine, not a CachedRead
    ("POST", read, {}),
    ("GET", read, {"rate_limit": "guest"}),
    ("GET", read, {"idempotency": "optional"}),
])
def test_anything_else_declared_cached_is_refused_at_import(method, handler, options):
    with pytest.raises(TypeError, match="cached read"):
        Route(method, "/x/{id}", handler, "one x", "x", cached=True, **options)


def test_every_cacheable_detail_and_list_is_declared_cached():
    cached = {(r.method, r.path) for r in ROUTES if r.cached}
    assert {("GET", "/api/v1/payment/orders/{order_id}"), ("GET", "/api/v1/payment/orders"),
            ("GET", "/api/v1/payment/payments/{payment_id}"), ("GET", "/api/v1/payment/payments"),
            ("GET", "/api/v1/payment/refunds/{refund_id}"), ("GET", "/api/v1/payment/refunds"),
            ("GET", "/api/v1/products/{product_id}"), ("GET", "/api/v1/products"),
            ("GET", "/api/v1/categories")} == cached
