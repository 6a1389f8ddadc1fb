"""Cached reads. A cached GET handler is a plain function that names what it reads (``CachedRead``);
the endpoint wrapper serves it cache-aside, with an ETag (``If-None-Match`` -> 304) and the
ownership check against the owner stored beside the body.

A hit in this process (an in-process tier, or the memory cache) is answered without any coroutine
but the wrapper's own: ``hit`` is a plain function, and only a miss awaits ``fill``.
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import orjson
from aiohttp import web
from multidict import CIMultiDict

from application.errors import NotFound

#: entries kept taken apart (``_entry``): the hot set of a process; a colder entry is parsed again
ENTRIES = 4096

Loader = Callable[[], Awaitable[tuple[str | None, object]]]


@attrs.define
class CachedRead:
    """What a cached GET reads: the cache ``key`` (a list passes its ``group`` too, and its key
    within it, ``cache_keys.in_group``), the TTL's name, the metrics namespace, and ``load``, which
    returns ``(owner id or None, payload)`` from the origin on a miss."""

    key: str
    ttl: str
    namespace: str
    load: Loader
    group: str | None = None


def hit(ctx: Any, read: CachedRead) -> web.Response | None:
    """The answer from what this process holds, or None: the caller then awaits ``fill``."""
    raw = ctx.services.cache.peek(read.key, read.namespace, read.group)
    return None if raw is None else answer(ctx, raw)


async def fill(ctx: Any, read: CachedRead) -> web.Response:
    """Through the cache (Redis, single-flight), loading from the origin on a miss."""
    async def render() -> bytes:
        owner, payload = await read.load()
        body = orjson.dumps(payload)
        etag = hashlib.blake2b(body, digest_size=10).hexdigest()
        return f"{owner or ''}\n{etag}\n".encode() + body
    services = ctx.services
    raw = await services.cache.get(read.key, services.ttls[read.ttl], render, read.namespace, read.group)
    return answer(ctx, raw)


def answer(ctx: Any, raw: bytes) -> web.Response:
    owner, quoted, body, headers, not_modified = _entry(raw)
    if owner and (ctx.principal is None or not ctx.principal.may_see(owner)):
        raise NotFound("not found")
    if quoted in ctx.request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=not_modified)
    return web.Response(body=body, headers=headers)


@functools.lru_cache(maxsize=ENTRIES)
def _entry(raw: bytes) -> tuple[str, str, bytes, CIMultiDict, CIMultiDict]:
    """A stored entry (``owner\netag\nbody``) taken apart once, with its response headers made:
    memoized by the entry itself, so a hit on an entry held in this process parses nothing (the
    bytes object a cache holds keeps its hash; a new value is a new key)."""
    owner, etag, body = raw.split(b"\n", 2)
    quoted = f'"{etag.decode()}"'
    not_modified = CIMultiDict({"ETag": quoted, "Cache-Control": "private, no-cache"})
    headers = CIMultiDict(not_modified)
    headers["Content-Type"] = "application/json"
    return owner.decode(), quoted, body, headers, not_modified
