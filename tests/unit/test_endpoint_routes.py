"""How routes are declared: a cached read is a plain GET that says where its answer is stored, and
whose handler loads it on a miss."""
from __future__ import annotations

import pytest

from entrypoints.http import cached as cached_read
from entrypoints.http import handlers  # noqa: F401 - registers the routes
from entrypoints.http.endpoint import ROUTES, Route

ONE_X = cached_read.one("x", "x", lambda path: "x:" + path["id"])


async def load(ctx):
    raise AssertionError("not called at declaration")


def plain(ctx):
    raise AssertionError("not called at declaration")


def test_a_cached_read_is_a_plain_get_whose_handler_loads():
    route = Route("GET", "/x/{id}", load, "one x", "x", cached=ONE_X)
    assert route.plain and route.cached is ONE_X


@pytest.mark.parametrize("method, handler, options", [
    ("GET", plain, {}),  # not async: a miss awaits what the handler returns
    ("POST", load, {}),
    ("GET", load, {"rate_limit": "guest"}),
    ("GET", load, {"idempotency": "optional"}),
])
def test_anything_else_declared_cached_is_refused_at_import(method, handler, options):
    with pytest.raises(TypeError, match="cached read"):
        Route(method, "/x/{id}", handler, "one x", "x", cached=ONE_X, **options)


def test_every_cacheable_detail_and_list_is_declared_cached():
    cached = {(r.method, r.path) for r in ROUTES if r.cached is not None}
    assert {("GET", "/api/v1/payment/orders/{order_id}"), ("GET", "/api/v1/payment/orders"),
            ("GET", "/api/v1/payment/payments/{payment_id}"), ("GET", "/api/v1/payment/payments"),
            ("GET", "/api/v1/payment/refunds/{refund_id}"), ("GET", "/api/v1/payment/refunds"),
            ("GET", "/api/v1/products/{product_id}"), ("GET", "/api/v1/products"),
            ("GET", "/api/v1/categories")} == cached
