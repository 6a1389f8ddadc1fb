"""Hooks for the schemathesis run (``SCHEMATHESIS_HOOKS``). JSON Schema calls ``5.0`` an integer;
the API takes counts, positions, versions and money only as JSON integers (a float is refused with
a 422, by design). A generated body sends each whole-number float as the integer it stands for, so
"schema-valid request rejected" stays a real finding everywhere else."""
from __future__ import annotations

import schemathesis


def _integers(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integers(item) for item in value]
    return value


@schemathesis.hook
def map_body(ctx, body):
    return _integers(body)
