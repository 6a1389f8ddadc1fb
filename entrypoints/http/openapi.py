"""OpenAPI 3.1 built from an app's route tables and their pydantic models."""
from __future__ import annotations

import re
from collections.abc import Iterable

import orjson

from domain.catalog import TAG_SLUG
from entrypoints.http import openapi_examples as examples
from entrypoints.http import schemas as s
from entrypoints.http.endpoint import Route, RouteTable
from entrypoints.http.params import BLANK_IS_NONE
from entrypoints.http.text import document_no_nul, schema_objects

REF = "#/components/schemas/{model}"
#: what the router lets a path parameter be (``app.PATH_PARAMETER``, kept equal by a test)
PATH_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"}
#: path parameters the use case narrows further (a tag's or an FAQ section's slug: ``domain.catalog.TAG_SLUG``)
NARROWER_PATH_SCHEMAS = {"slug": {"type": "string", "pattern": TAG_SLUG.pattern}}
#: the security scheme: an access token from POST /auth/login (or /auth/guest), sent as a bearer header
BEARER = "bearerAuth"
#: an operation's ``security`` by its route's ``auth``: a token, a token if one is sent, none at all
SECURITY = {"required": [{BEARER: []}], "optional": [{BEARER: []}, {}], "none": []}


def _schema(model, components: dict) -> dict:
    schema = model.model_json_schema(ref_template=REF, mode="serialization")
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": REF.format(model=model.__name__)}


def _query_parameters(model, components: dict) -> list[dict]:
    """One parameter per field of a ``query=`` model, typed by its schema. A parameter is absent
    rather than null, so the null branch of an optional one is left out."""
    schema = model.model_json_schema(ref_template=REF)
    components.update(schema.pop("$defs", {}))
    required = set(schema.get("required", ()))
    params = []
    for name, field in schema["properties"].items():
        field = {k: v for k, v in field.items() if k != "title"}
        description = field.pop("description", None)
        kinds = [kind for kind in field.pop("anyOf", ()) if kind != {"type": "null"}]
        if kinds:
            field = {**(kinds[0] if len(kinds) == 1 else {"anyOf": kinds}), **field}
        if "default" in field and field["default"] is None:
            del field["default"]
        param = {"name": name, "in": "query", "required": name in required, "schema": field}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _blank_allowed(model, params: list[dict]) -> list[dict]:
    """An optional parameter sent empty (``?status=``) is read as absent (``params.BLANK_IS_NONE``):
    the document says an empty value is taken too."""
    for param in params:
        field = model.model_fields.get(param["name"]) or next(
            (f for f in model.model_fields.values() if f.alias == param["name"]), None)
        if field is not None and any(meta is BLANK_IS_NONE for meta in field.metadata):
            schema = param["schema"]
            if any(key in schema for key in ("pattern", "minLength", "$ref", "enum", "format")):
                param["schema"] = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
    return params


def _operation(route: Route, components: dict) -> dict:
    op: dict = {"summary": route.summary, "tags": [route.tag], "operationId": route.operation_id}
    params = [{"name": n, "in": "path", "required": True, "schema": NARROWER_PATH_SCHEMAS.get(n, PATH_SCHEMA)}
              for n in re.findall(r"{(\w+)}", route.path)]
    if route.query is not None:
        params += _blank_allowed(route.query, _query_parameters(route.query, components))
    if route.idempotency != "none":
        params.append({"name": "Idempotency-Key", "in": "header", "required": route.idempotency == "required",
                       "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
                       "description": "Replays the first response byte-for-byte (Idempotent-Replayed: true)"})
    if params:
        op["parameters"] = params
    if route.body is not None:
        # a body may be left out when no field is required (it reads as {})
        required = any(field.is_required() for field in route.body.model_fields.values())
        op["requestBody"] = {"required": required,
                             "content": {"application/json": {"schema": _schema(route.body, components)}}}
    elif route.form is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/x-www-form-urlencoded": {"schema": _schema(route.form, components)}}}
    ok: dict = {"description": "Success"}
    if route.response is not None:
        ok["content"] = {"application/json": {"schema": _schema(route.response, components)}}
    elif route.content_type.startswith("text/"):
        ok["content"] = {route.content_type: {"schema": {"type": "string"}}}
    op["responses"] = {str(route.status): ok, **problem_responses(route, components)}
    op["security"] = SECURITY[route.auth]
    _with_examples(route, op)
    return op


# -- error answers --------------------------------------------------------------------------------
RESPONSE_REF = "#/components/responses/{name}"
#: the shared problem+json answers (``components.responses``), by status: their name and when they come
PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The body is not valid JSON, or not a readable form"),
    401: ("Unauthorized", "No bearer token, or one that is not valid (answered with WWW-Authenticate: Bearer)"),
    403: ("Forbidden", "The caller's role may not do this"),
    404: ("NotFound", "No such resource; another caller's counts as none"),
    409: ("Conflict", "The resource's state does not allow it, or a request with the same Idempotency-Key is "
                      "still running (retry after Retry-After)"),
    413: ("PayloadTooLarge", "The body is over 1 MiB"),
    422: ("ValidationFailed", "Well formed but not valid (``errors`` names each field), or an Idempotency-Key "
                              "reused with another body"),
    429: ("TooManyRequests", "A rate limit was reached: retry after Retry-After seconds"),
    503: ("ServiceUnavailable", "A dependency is down: retry after Retry-After seconds"),
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again",
                                "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
_HEADERS = {401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
            409: _RETRY_AFTER, 429: _RETRY_AFTER, 503: _RETRY_AFTER}
#: operations a signed-in caller may be refused for their role (besides /admin/... and catalog writes)
ROLE_BOUND = frozenset({"support_open_ticket", "support_reopen"})
#: what an operation answers besides what its declaration shows: credentials in the body refused (401), a
#: gateway's signature refused (401) or its event unreadable (422), the sandbox form's CSRF check (403)
ALSO: dict[str, frozenset[int]] = {
    "auth_login": frozenset({401}), "auth_refresh": frozenset({401}),
    "webhooks_receive": frozenset({401, 422}), "webhooks_receive_put": frozenset({401, 422}),
    "sandbox_settle": frozenset({403}),
}


def error_statuses(route: Route) -> list[int]:
    """The problem statuses ``route`` may answer, from what it declares: a body can be malformed,
    too large or invalid; a token missing or wrong; a role not enough (staff operations); a named
    resource absent (a path parameter, an ``..._id`` or ``sku`` in the body); a state in the way (any
    write); a rate limit reached; a dependency down (anything that reads or writes the stores)."""
    has_body = route.body is not None or route.form is not None
    in_path = "{" in route.path
    named = in_path or any(name.endswith("_id") or name == "sku"
                           for name in (route.body.model_fields if route.body is not None else ()))
    staff = (route.path.startswith("/api/v1/admin/") or route.operation_id.startswith("catalog_admin_")
             or route.operation_id in ROLE_BOUND)
    wanted = {
        400: has_body, 413: has_body,
        401: route.auth != "none",
        403: route.auth == "required" and staff,
        404: named,
        409: route.method != "GET" and (route.auth != "none" or in_path),
        422: has_body or route.query is not None or route.idempotency != "none",
        429: bool(route.limits),
        503: route.auth != "none" or has_body or in_path or route.query is not None or bool(route.limits),
    }
    return sorted({status for status, applies in wanted.items() if applies} | ALSO.get(route.operation_id, frozenset()))


def problem_responses(route: Route, components: dict) -> dict:
    """``route``'s error answers: each status it may answer (a shared response of
    ``components.responses``), and any other 4xx or 5xx, all problem+json (``Problem``)."""
    problem = {"description": "Problem (RFC 9457)",
               "content": {"application/problem+json": {"schema": _schema(s.Problem, components)}}}
    answers = {str(status): {"$ref": RESPONSE_REF.format(name=PROBLEMS[status][0])} for status in error_statuses(route)}
    return {**answers, "4XX": problem, "5XX": problem}


def shared_responses() -> dict:
    """``components.responses``: one problem+json answer per status of PROBLEMS, with an example."""
    responses = {}
    for status, (name, when) in PROBLEMS.items():
        example = examples.PROBLEMS[status]
        body = {"type": f"urn:payport:problem:{example['code']}", "status": status, **example}
        response = {"description": when, "content": {"application/problem+json": {
            "schema": {"$ref": REF.format(model="Problem")}, "example": body}}}
        if status in _HEADERS:
            response["headers"] = _HEADERS[status]
        responses[name] = response
    return responses


def _with_examples(route: Route, op: dict) -> None:
    """The examples of ``openapi_examples`` on ``route``'s request body and success answer. A route
    that reads its raw body (a gateway's webhook) gets that body described, as any JSON object."""
    request = examples.REQUESTS.get(route.operation_id)
    if request is not None:
        if "requestBody" not in op:
            op["requestBody"] = {"required": False, "description": "The gateway's own event, as it sends it",
                                 "content": {"application/json": {"schema": {"type": "object"}}}}
        op["requestBody"]["content"]["application/json"]["example"] = request
    response = examples.RESPONSES.get(route.operation_id)
    if response is not None:
        op["responses"][str(route.status)]["content"]["application/json"]["example"] = response


# -- the document -----------------------------------------------------------------------------------
def _keys_only_by_pattern(document) -> None:
    """A map whose keys have a pattern (``dict[Currency, ...]``) takes no other key: the request
    models refuse one, so the document says so (``additionalProperties: false``)."""
    for node in schema_objects(document):
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False


def build_spec(tables: Iterable[RouteTable]) -> dict:
    components: dict = {}
    paths: dict = {}
    for table in tables:
        for route in table:
            paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, components)
    document_no_nul(components)  # request models refuse NUL; a schema-valid request is never refused for one
    _keys_only_by_pattern(components)
    for operations in paths.values():
        for op in operations.values():
            document_no_nul(op.get("parameters", []))
    return {
        "openapi": "3.1.0",
        "info": {"title": "payport", "version": "0.1.0",
                 "description": "Checkout & payments: orders, payment intents, gateways, webhooks, refunds. "
                                "Money is integers in minor units next to a currency."},
        "paths": paths,
        "components": {"schemas": components, "responses": shared_responses(),
                       "securitySchemes": {BEARER: {
                           "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "The access token of POST /api/v1/auth/login (or /auth/guest)"}}},
    }


class Document:
    """One app's OpenAPI document, built from its tables on the first request for it, then kept."""

    def __init__(self, tables: tuple[RouteTable, ...]) -> None:
        self.tables = tables
        self._body: bytes | None = None

    def body(self) -> bytes:
        if self._body is None:
            self._body = orjson.dumps(build_spec(self.tables))
        return self._body
