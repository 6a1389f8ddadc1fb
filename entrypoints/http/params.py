"""Request readers: query strings with clear 422s, and form bodies with a 400 for a malformed one."""
from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from application.pagination import DEFAULT_LIMIT, MAX_LIMIT
from domain.errors import InvalidValue
from entrypoints.http.problems import MalformedForm


def limit_and_cursor(request: web.Request) -> tuple[int, str | None]:
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidValue(f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit")
    cursor = request.query.get("cursor") or None
    if cursor is not None and len(cursor) > 512:
        raise InvalidValue("cursor is not one this API returned", field="cursor")
    return int(raw), cursor


def text(request: web.Request, name: str, max_length: int = 100) -> str | None:
    value = request.query.get(name)
    if value is not None and len(value) > max_length:
        raise InvalidValue(f"{name} is at most {max_length} characters", field=name)
    return value or None


def canonical_query(request: web.Request) -> str:
    return urlencode(sorted(request.query.items()))


async def read_form(request: web.Request):
    """``request.post()``, with what it raises on a malformed body (a multipart type with no
    boundary, an unknown charset) turned into ``MalformedForm``: a 400, never a 500."""
    try:
        return await request.post()
    except (ValueError, LookupError, UnicodeError, AssertionError) as exc:
        raise MalformedForm(str(exc)[:200]) from None
