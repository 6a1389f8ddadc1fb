"""Request readers: query strings with clear 422s, and form bodies with a 400 for a malformed one."""
from __future__ import annotations

import functools
from urllib.parse import urlencode

from aiohttp import web
from yarl import URL

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
    """The query string in one order (``b=2&a=1`` and ``a=1&b=2`` name one cached list). A pure
    function of the raw query string, so the usual short ones are remembered (bounded)."""
    raw = request.rel_url.raw_query_string
    if len(raw) > 256:
        return urlencode(sorted(request.query.items()))
    return _canonical(raw)


@functools.lru_cache(maxsize=1024)
def _canonical(raw: str) -> str:
    return urlencode(sorted(URL.build(query_string=raw, encoded=True).query.items()))


async def read_form(request: web.Request):
    """``request.post()``, with what it raises on a malformed body (a multipart type with no
    boundary, an unknown charset) turned into ``MalformedForm``: a 400, never a 500."""
    try:
        return await request.post()
    except (ValueError, LookupError, UnicodeError, AssertionError) as exc:
        raise MalformedForm(str(exc)[:200]) from None
