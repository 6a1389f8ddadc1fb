"""entrypoints/http/text.py: a request model refuses a NUL in any field, whatever the field holds
(text, a subclass of str, lists, dicts and their keys); numbers, booleans and None pass."""
from __future__ import annotations

import enum

import pytest
from pydantic import BaseModel, ValidationError

from entrypoints.http.text import refuse_nul


class Kind(str, enum.Enum):
    A = "a"


class Line(BaseModel):
    sku: str
    quantity: int
    refuse_nul = refuse_nul


class Body(BaseModel):
    note: str | None = None
    kind: Kind = Kind.A
    count: int = 0
    ratio: float = 0.0
    flag: bool = False
    tags: list[str] = []
    meta: dict[str, str] = {}
    lines: list[Line] = []
    refuse_nul = refuse_nul


@pytest.mark.parametrize("raw", [
    '{"note": "a\\u0000b"}', '{"tags": ["ok", "x\\u0000"]}', '{"meta": {"k\\u0000": "v"}}',
    '{"meta": {"k": "v\\u0000"}}', '{"lines": [{"sku": "S\\u0000", "quantity": 1}]}',
])
def test_a_nul_anywhere_is_refused_with_the_field_named(raw):
    with pytest.raises(ValidationError) as refused:
        Body.model_validate_json(raw)
    [error] = refused.value.errors()
    assert "NUL" in error["msg"] and error["loc"][0] in ("note", "tags", "meta", "lines")


def test_what_holds_no_nul_passes_unchanged():
    raw = ('{"note": "plain \\\\u0000 text", "kind": "a", "count": 3, "ratio": 1.5, "flag": true, "tags": ["x"],'
           ' "meta": {"k": "v"}, "lines": [{"sku": "S", "quantity": 2}]}')
    body = Body.model_validate_json(raw)
    assert body.note == "plain \\u0000 text" and body.kind is Kind.A and body.count == 3 and body.flag is True
    assert Body.model_validate_json('{"note": null}').note is None
