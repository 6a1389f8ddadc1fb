"""Text a client sends: no NUL character anywhere (PostgreSQL cannot store one, and psycopg2
refuses it with an error that would otherwise surface as a 500). Request models refuse it (422),
and the OpenAPI document says so (``NO_NUL`` on every free-text string)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import field_validator

#: the JSON Schema pattern of a string without NUL (added to the document's free-text strings)
NO_NUL = "^[^\\u0000]*$"


def has_nul(value: Any) -> bool:
    """Whether ``value`` (a string, or lists/dicts of them, keys included) holds a NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    return False


#: values that hold no text, answered without a call (the validator runs for every field of every body)
_NO_TEXT = frozenset({int, bool, float, type(None)})


def _refuse_nul(cls: type, value: Any) -> Any:
    kind = value.__class__
    if kind is str:
        if "\x00" in value:
            raise ValueError("must not contain a NUL character")
    elif kind not in _NO_TEXT and has_nul(value):
        raise ValueError("must not contain a NUL character")
    return value


#: put in a model's body: every field is refused when it holds a NUL (nested models check their own)
refuse_nul = field_validator("*", mode="after")(classmethod(_refuse_nul))


def schema_objects(node: Any) -> Iterator[dict]:
    """Every object of a JSON Schema document, nested ones included (to edit them in place)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from schema_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from schema_objects(item)


def document_no_nul(schema: Any) -> None:
    """Add ``NO_NUL`` to every plain string of a JSON Schema (in place): one with no pattern,
    format, enum or const of its own, which would already exclude NUL or say what it is, and not
    marked ``x-any-text`` (a parameter that takes any text, NUL included, as a flag does)."""
    for node in schema_objects(schema):
        if node.get("type") == "string" and not {"pattern", "format", "enum", "const", "x-any-text"} & node.keys():
            node["pattern"] = NO_NUL
