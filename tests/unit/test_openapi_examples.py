"""The OpenAPI document's examples, security and error answers: each example is what its route
takes or answers (checked with the route's own models, strictly, with no field it does not declare),
public operations say ``security: []``, and each operation lists the problems it may answer."""
from __future__ import annotations

import orjson
import pytest

from entrypoints.http import openapi_examples as examples
from entrypoints.http import schemas as s
from entrypoints.http.openapi import BEARER, PROBLEMS, build_spec, error_statuses
from entrypoints.http.problems import CONTENT_TYPE
from entrypoints.http.routes import ROUTE_TABLES
from tests.e2e.api import undeclared

ROUTES = {route.operation_id: route for table in ROUTE_TABLES for route in table}
SPEC = build_spec(ROUTE_TABLES)
OPERATIONS = {op["operationId"]: op for ops in SPEC["paths"].values() for op in ops.values()}


@pytest.mark.parametrize("operation_id", sorted(examples.REQUESTS))
def test_each_request_example_is_taken_by_its_route(operation_id):
    route = ROUTES[operation_id]
    example = examples.REQUESTS[operation_id]
    if route.body is not None:
        route.body.model_validate_json(orjson.dumps(example))  # strict, unknown fields refused
    media = OPERATIONS[operation_id]["requestBody"]["content"]["application/json"]
    assert media["example"] == example


@pytest.mark.parametrize("operation_id", sorted(examples.RESPONSES))
def test_each_response_example_is_what_its_route_answers(operation_id):
    route = ROUTES[operation_id]
    answer = route.response.model_validate_json(orjson.dumps(examples.RESPONSES[operation_id]), strict=True)
    assert undeclared(answer, "") == []
    media = OPERATIONS[operation_id]["responses"][str(route.status)]["content"]["application/json"]
    assert media["example"] == examples.RESPONSES[operation_id]


def test_the_main_operations_have_examples():
    story = {"auth_register", "auth_login", "cart_add_item", "checkout_initiate", "checkout_confirm",
             "orders_create_order", "payments_initiate", "refunds_create_refund", "webhooks_receive"}
    assert story <= examples.REQUESTS.keys() and story <= examples.RESPONSES.keys()


@pytest.mark.parametrize("status", sorted(PROBLEMS))
def test_each_shared_problem_answer_is_a_problem(status):
    name = PROBLEMS[status][0]
    media = SPEC["components"]["responses"][name]["content"][CONTENT_TYPE]
    problem = s.Problem.model_validate_json(orjson.dumps(media["example"]), strict=True)
    assert problem.status == status and problem.type == f"urn:payport:problem:{problem.code}"
    assert media["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_public_operations_say_so_and_the_others_name_the_bearer_scheme():
    assert SPEC["components"]["securitySchemes"][BEARER] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "The access token of POST /api/v1/auth/login (or /auth/guest)"}
    for operation_id, route in ROUTES.items():
        expected = {"none": [], "required": [{BEARER: []}], "optional": [{BEARER: []}, {}]}[route.auth]
        assert OPERATIONS[operation_id]["security"] == expected, operation_id
    assert OPERATIONS["auth_register"]["security"] == [] and OPERATIONS["webhooks_receive"]["security"] == []


def test_each_operation_lists_the_problems_it_may_answer():
    def listed(operation_id):
        return {int(code) for code in OPERATIONS[operation_id]["responses"] if code.isdigit() and int(code) >= 400}

    assert listed("payments_initiate") == {400, 401, 404, 409, 413, 422, 429, 503}
    assert listed("refunds_create_refund") == {400, 401, 404, 409, 413, 422, 429, 503}
    assert listed("auth_register") == {400, 413, 422, 429, 503}  # public: no 401, never 409 (issue 16)
    assert listed("auth_login") == {400, 401, 413, 422, 429, 503}
    assert listed("orders_get_order") == {401, 404, 503}
    assert listed("backoffice_list_orders") == {401, 403, 422, 503}
    assert listed("webhooks_receive") == {401, 404, 409, 422, 429, 503}
    assert listed("ops_live") == set()
    for operation_id, route in ROUTES.items():
        responses = OPERATIONS[operation_id]["responses"]
        assert {"4XX", "5XX"} <= responses.keys(), operation_id  # any other problem is still problem+json
        assert listed(operation_id) == set(error_statuses(route))
        for status in error_statuses(route):
            assert responses[str(status)] == {"$ref": f"#/components/responses/{PROBLEMS[status][0]}"}
