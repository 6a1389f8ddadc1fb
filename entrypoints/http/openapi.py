"""OpenAPI 3.1 built from an app's route tables and their pydantic models."""
from __future__ import annotations

import re
from collections.abc import Iterable

import orjson

from domain.catalog import TAG_SLUG
from entrypoints.http import schemas as s
from entrypoints.http.endpoint import Route, RouteTable
from entrypoints.http.params import BLANK_IS_NONE
from entrypoints.http.text import document_no_nul, schema_objects

REF = "#/components/schemas/{model}"
#: what the router lets a path parameter be (``app.PATH_PARAMETER``, kept equal by a test)
PATH_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"}
#: path parameters the use case narrows further (a tag's or an FAQ section's slug: ``domain.catalog.TAG_SLUG``)
NARROWER_PATH_SCHEMAS = {"slug": {"type": "string", "pattern": TAG_SLUG.pattern}}


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
    problem = {"description": "Problem (RFC 9457)",
               "content": {"application/problem+json": {"schema": _schema(s.Problem, components)}}}
    op["responses"] = {str(route.status): ok, "4XX": problem, "5XX": problem}
    if route.auth != "none":
        op["security"] = [{"bearer": []}] if route.auth == "required" else [{"bearer": []}, {}]
    return op


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
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
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
