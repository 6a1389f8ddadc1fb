"""Cached reads. A cached GET handler is a plain function that names what it reads (``CachedRead``);
the endpoint wrapper serves it cache-aside, with an ETag (``If-None-Match`` -> 304) and the
ownership check against the owner stored beside the body.

A hit in this process (an in-process tier, or the memory cache) is answered without any coroutine
but the wrapper's own: ``hit`` is a plain function, and only a miss awaits ``fill``.
"""
from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import orjson
from aiohttp import web

from application.errors import NotFound

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
    owner, etag, body = raw.split(b"\n", 2)
    if owner and (ctx.principal is None or not ctx.principal.may_see(owner.decode())):
        raise NotFound("not found")
    quoted = f'"{etag.decode()}"'
    headers = {"ETag": quoted, "Cache-Control": "private, no-cache"}
    if quoted in ctx.request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)
