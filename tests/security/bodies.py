"""The smallest body a route's model accepts, made from its JSON schema: what an intruder sends so
that a refusal is the route's access check, not the body's validation (which runs first: a 422
would say nothing about who may call the route)."""
from __future__ import annotations

import functools
from typing import Any

import hypothesis
import orjson
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

#: what a string of a format is, smallest first
FORMATS = {"email": "a@example.com", "date-time": "2026-01-01T00:00:00Z", "date": "2026-01-01",
           "uri": "https://shop.example/", "uuid": "00000000-0000-4000-8000-000000000000"}


class NoBody(AssertionError):
    """A model the generator cannot satisfy: the message names it (extend ``minimal``)."""


def valid_body(model: type[BaseModel]) -> dict:
    """A JSON object ``model`` validates, every required field set to its smallest value."""
    schema = model.model_json_schema()
    body = minimal(schema, schema.get("$defs", {}))
    try:
        model.model_validate_json(orjson.dumps(body))
    except ValidationError as exc:
        raise NoBody(f"{model.__name__}: {body!r} is refused: {exc.errors(include_url=False)}") from None
    return body


def minimal(schema: dict, defs: dict) -> Any:
    if "$ref" in schema:
        return minimal(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return minimal(options[0], defs)
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: minimal(properties[name], defs) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal(schema.get("items", {}), defs) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        return _string(schema.get("pattern"), schema.get("minLength", 1), schema.get("maxLength"),
                       schema.get("format"))
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return max(low, min(1, schema.get("maximum", 1)))
    if kind == "boolean":
        return False
    raise NoBody(f"no smallest value for {schema!r}")


@functools.lru_cache(maxsize=None)
def _string(pattern: str | None, low: int, high: int | None, fmt: str | None) -> str:
    if fmt in FORMATS:
        return FORMATS[fmt]
    if pattern is None:
        return "a" * max(low, 1)
    fits = lambda s: len(s) >= low and (high is None or len(s) <= high)  # noqa: E731
    return hypothesis.find(st.from_regex(pattern, fullmatch=True).filter(fits), lambda _: True,
                           settings=hypothesis.settings(database=None, max_examples=2_000, derandomize=True))
