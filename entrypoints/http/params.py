"""Query-string parsing with clear 422s, and the cached-GET helper (ETag / 304)."""
from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import orjson
from aiohttp import web

from application.errors import NotFound
from application.pagination import DEFAULT_LIMIT, MAX_LIMIT
from domain.errors import InvalidValue
from entrypoints.http.endpoint import Ctx
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


async def cached_json(ctx: Ctx, key: str, ttl_name: str, namespace: str,
                      load: Callable[[], Awaitable[tuple[str | None, object]]],
                      group: str | None = None) -> web.Response:
    """Serve a GET from the cache (cache-aside), checking ownership against the stored owner.
    A list passes its ``group`` and its key within it (``cache_keys.in_group``)."""
    services = ctx.services
    raw = services.cache.peek(key, namespace, group)  # held in this process: no coroutine, no round trip
    if raw is None:
        async def fill() -> bytes:
            owner, payload = await load()
            body = orjson.dumps(payload)
            etag = hashlib.blake2b(body, digest_size=10).hexdigest()
            return f"{owner or ''}\n{etag}\n".encode() + body
        raw = await services.cache.get(key, services.ttls[ttl_name], fill, namespace, group)
    owner, etag, body = raw.split(b"\n", 2)
    if owner and (ctx.principal is None or not ctx.principal.may_see(owner.decode())):
        raise NotFound("not found")
    quoted = f'"{etag.decode()}"'
    headers = {"ETag": quoted, "Cache-Control": "private, no-cache"}
    if quoted in ctx.request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


async def read_form(request: web.Request):
    """``request.post()``, with what it raises on a malformed body (a multipart type with no
    boundary, an unknown charset) turned into ``MalformedForm``: a 400, never a 500."""
    try:
        return await request.post()
    except (ValueError, LookupError, UnicodeError, AssertionError) as exc:
        raise MalformedForm(str(exc)[:200]) from None
