"""Text a client sends: no NUL character anywhere (PostgreSQL cannot store one, and psycopg2
refuses it with an error that would otherwise surface as a 500). Request models refuse it (422),
and the OpenAPI document says so (``NO_NUL`` on every free-text string)."""
from __future__ import annotations

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


def _refuse_nul(value: Any) -> Any:
    if has_nul(value):
        raise ValueError("must not contain a NUL character")
    return value


#: put in a model's body: every field is refused when it holds a NUL (nested models check their own)
refuse_nul = field_validator("*", mode="after")(classmethod(lambda cls, value: _refuse_nul(value)))


def document_no_nul(schema: Any) -> None:
    """Add ``NO_NUL`` to every plain string of a JSON Schema (in place): one with no pattern,
    format, enum or const of its own, which would already exclude NUL or say what it is, and not
    marked ``x-any-text`` (a parameter that takes any text, NUL included, as a flag does)."""
    if isinstance(schema, dict):
        if (schema.get("type") == "string"
                and not {"pattern", "format", "enum", "const", "x-any-text"} & schema.keys()):
            schema["pattern"] = NO_NUL
        for value in schema.values():
            document_no_nul(value)
    elif isinstance(schema, list):
        for item in schema:
            document_no_nul(item)
