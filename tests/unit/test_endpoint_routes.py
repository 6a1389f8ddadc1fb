"""How routes are declared: a cached read is a plain GET that says where its answer is stored, and
whose handler loads it on a miss; what a declaration gets wrong is refused at registration or when
an app is made of the tables, naming the route."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

import container as composition
from entrypoints.http import cached as cached_read
from entrypoints.http import endpoint
from entrypoints.http import schemas as s
from entrypoints.http.app import create_app
from entrypoints.http.endpoint import Ctx, Route, RouteDeclarationError, RouteTable, check_tables
from entrypoints.http.params import Page
from entrypoints.http.routes import ROUTE_TABLES

ONE_X = cached_read.one("x", "x", lambda path: "x:" + path["id"])
CONFIG = {"rate_limits": {"guest": (30, 60)}, "ttls": {"x": 60}}


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
    cached = {(r.method, r.path) for table in ROUTE_TABLES for r in table if r.cached is not None}
    assert {("GET", "/api/v1/payment/orders/{order_id}"), ("GET", "/api/v1/payment/orders"),
            ("GET", "/api/v1/payment/payments/{payment_id}"), ("GET", "/api/v1/payment/payments"),
            ("GET", "/api/v1/payment/refunds/{refund_id}"), ("GET", "/api/v1/payment/refunds"),
            ("GET", "/api/v1/products/{product_id}"), ("GET", "/api/v1/products"),
            ("GET", "/api/v1/categories"),
            # issue 18: the tags, the FAQ, a product's reviews
            ("GET", "/api/v1/tags"), ("GET", "/api/v1/faq"), ("GET", "/api/v1/products/{product_id}/reviews")} == cached


def test_the_served_tables_pass_every_check_with_the_default_configuration():
    config = composition.build_container({}, environ={}).config()
    routes = check_tables(ROUTE_TABLES, rate_limits=config["rate_limits"], ttls=config["ttls"])
    operation_ids = [r.operation_id for r in routes]
    assert len(set(operation_ids)) == len(operation_ids)
    assert {"checkout_initiate", "payments_initiate"} <= set(operation_ids)  # once both initiate_post


def test_a_table_names_operations_after_itself_and_its_handlers():
    routes = RouteTable("example")
    routes.endpoint("GET", "/x/{id}", summary="one x", response=s.CategoryOut)(load)
    routes.endpoint("PUT", "/x/{id}", summary="put x", response=s.CategoryOut, operation_id="example_put")(load)
    assert [r.operation_id for r in routes] == ["example_load", "example_put"]
    assert {r.tag for r in routes} == {"example"}


def test_one_operation_id_twice_in_a_table_is_refused_at_registration():
    routes = RouteTable("example")
    routes.endpoint("POST", "/x", summary="x", response=s.CategoryOut, auth="none")(load)
    with pytest.raises(RouteDeclarationError, match=r"PUT /x: operationId 'example_load' is also POST /x's"):
        routes.endpoint("PUT", "/x", summary="x", response=s.CategoryOut, auth="none")(load)


def test_one_operation_id_in_two_tables_is_refused_when_the_app_is_made():
    first, second = RouteTable("a"), RouteTable("b")
    first.endpoint("POST", "/a/initiate", summary="a", response=s.CategoryOut, operation_id="initiate")(load)
    second.endpoint("POST", "/b/initiate", summary="b", response=s.CategoryOut, operation_id="initiate")(load)
    with pytest.raises(RouteDeclarationError, match=r"POST /b/initiate: operationId 'initiate' is also POST /a/initiate's"):
        check_tables([first, second], **CONFIG)


def test_one_method_and_path_in_two_tables_or_one_table_twice_is_refused():
    first, second = RouteTable("a"), RouteTable("b")
    first.endpoint("GET", "/x", summary="x", response=s.CategoryOut)(load)
    second.endpoint("GET", "/x", summary="x", response=s.CategoryOut)(load)
    with pytest.raises(RouteDeclarationError, match="GET /x: declared twice"):
        check_tables([first, second], **CONFIG)
    with pytest.raises(RouteDeclarationError, match="route table 'a' is handed to the app twice"):
        check_tables([first, first], **CONFIG)
    with pytest.raises(RouteDeclarationError, match="GET /x: declared twice in route table 'a'"):
        first.endpoint("GET", "/x", summary="again", response=s.CategoryOut, operation_id="again")(load)


def test_a_rate_limit_policy_that_is_not_configured_is_refused():
    routes = RouteTable("example")
    routes.endpoint("POST", "/x", summary="x", response=s.CategoryOut, rate_limit="guest")(load)
    check_tables([routes], **CONFIG)
    routes.endpoint("POST", "/y", summary="y", response=s.CategoryOut, rate_limit="gest")(plain)
    with pytest.raises(RouteDeclarationError, match=r"POST /y: rate_limit='gest' is not a configured policy \(guest\)"):
        check_tables([routes], **CONFIG)


def test_a_cached_ttl_that_is_not_configured_is_refused():
    routes = RouteTable("example")
    routes.endpoint("GET", "/x/{id}", summary="x", response=s.CategoryOut, cached=ONE_X)(load)
    check_tables([routes], **CONFIG)
    routes.endpoint("GET", "/y/{id}", summary="y", response=s.CategoryOut, operation_id="example_y",
                    cached=cached_read.one("y", "y", lambda path: "y"))(load)
    with pytest.raises(RouteDeclarationError, match=r"GET /y/{id}: cached TTL 'y' is not a configured TTL \(x\)"):
        check_tables([routes], **CONFIG)


def test_create_app_checks_the_tables_against_the_configuration():
    routes = RouteTable("example")
    routes.endpoint("POST", "/x", summary="x", response=s.CategoryOut, rate_limit="no_such_policy")(load)
    with pytest.raises(RouteDeclarationError, match="POST /x: rate_limit='no_such_policy'"):
        create_app(composition.build_container({}, environ={}), tables=(*ROUTE_TABLES, routes))


@pytest.mark.parametrize("method, status", [("GET", 200), ("POST", 201), ("PUT", 202)])
def test_a_json_route_without_a_response_model_is_refused_at_registration(method, status):
    routes = RouteTable("example")
    with pytest.raises(RouteDeclarationError, match=f"{method} /x: a JSON route declares its response model"):
        routes.endpoint(method, "/x", summary="x", status=status)(load)
    assert list(routes) == []


@pytest.mark.parametrize("options", [
    {"content_type": "text/html"}, {"content_type": "text/plain"}, {"status": 204}, {"status": 303},
])
def test_pages_text_redirects_and_no_content_need_no_response_model(options):
    routes = RouteTable("example")
    routes.endpoint("POST", "/x", summary="x", **options)(load)
    assert [r.response for r in routes] == [None]


def test_a_table_name_must_make_operation_ids():
    with pytest.raises(RouteDeclarationError, match="route table 'my-context'"):
        RouteTable("my-context")


def test_ctx_query_is_parsed_once_on_first_read(monkeypatch):
    calls = []
    monkeypatch.setattr(endpoint, "parse_query", lambda model, request: calls.append(model) or model())
    ctx = Ctx(make_mocked_request("GET", "/x?limit=5"), None, None, None, None, Page)
    assert calls == []  # nothing parsed until the handler reads it
    assert ctx.query is ctx.query and calls == [Page]
    with pytest.raises(RouteDeclarationError, match="GET /x: its route declares no query="):
        Ctx(make_mocked_request("GET", "/x"), None, None, None, None).query
