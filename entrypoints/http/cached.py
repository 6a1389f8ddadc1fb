"""Cached reads. A cached GET declares where its answer is stored (``Cached``: ``one`` for a single
resource, ``page`` for a list) and its handler loads ``(owner id or None, payload)`` from the
origin. The endpoint wrapper serves it cache-aside, with an ETag (``If-None-Match`` -> 304) and the
ownership check against the owner stored beside the body.

A hit in this process (an in-process tier, or the memory cache) is answered by plain functions:
no coroutine but the wrapper's own, and nothing built for the handler; only a miss awaits ``fill``,
which calls the handler (single-flight, through Redis when it is there).
"""
from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import orjson
from aiohttp import web
from multidict import CIMultiDict

from application import cache_keys
from application.errors import NotFound
from domain.users import Principal
from entrypoints.http.params import canonical_query

#: entry heads kept taken apart (``_head``): the hot set of a process; a colder one is parsed again
HEADS = 4096
#: a live entry (a resource whose state can still change) is kept between (1 - LIVE_SPREAD) and 1 times
#: the ``live`` TTL, drawn per fill: never longer (that TTL bounds how stale a lost invalidation can
#: show it), and the entries of a cold start or a bulk change refill over seconds, not in one burst
#: (1,000 pending orders filled in one second and expiring in the same one cost the bench's cached
#: reads at half of peak a p99 of 12-26 ms instead of 5-7)
LIVE_SPREAD = 0.2

#: where a request's answer is stored: its key, and the group that key belongs to (lists) or None
Locate = Callable[[web.Request, Principal | None], tuple[str, str | None]]


@attrs.frozen
class Cached:
    """How a cached GET is stored: the TTL's name (a setting), the metrics namespace, and ``locate``."""

    ttl: str
    namespace: str
    locate: Locate


def one(ttl: str, namespace: str, key: Callable[[Mapping[str, str]], str]) -> Cached:
    """A single resource, keyed by its path's parameters (``key(match_info)``)."""
    return Cached(ttl, namespace, lambda request, principal: (key(request.match_info), None))


def page(ttl: str, namespace: str, group: Callable[[Principal | None], str]) -> Cached:
    """A list: a key per query string (in one order) within ``group(caller)``, which every write
    that can change a page invalidates as a whole. The handler validates the query: a query it
    refuses is never stored, so it never hits."""
    def locate(request: web.Request, principal: Principal | None) -> tuple[str, str | None]:
        name = group(principal)
        return cache_keys.in_group(name, canonical_query(request)), name
    return Cached(ttl, namespace, locate)


def answer(request: web.Request, principal: Principal | None, raw: bytes) -> web.Response:
    """The response for a stored entry: 404 to a caller who may not see it (as if it were not
    there), 304 when the client holds this version."""
    end = raw.index(b"\n", raw.index(b"\n") + 1)
    owner, quoted, headers, not_modified = _head(raw[:end])
    if owner and (principal is None or not principal.may_see(owner)):
        raise NotFound("not found")
    if quoted in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=not_modified)
    return web.Response(body=raw[end + 1:], headers=headers)


def _entry(ctx: Any, load: Callable[[Any], Awaitable[tuple]], cached: Cached):
    """``(ttl, render)``: ``render()`` loads from the origin and makes the entry; ``ttl()`` is read
    after it (a live resource's TTL is decided by what was loaded)."""
    services = ctx.services
    ttl = [services.ttls[cached.ttl]]

    async def render() -> bytes:
        owner, payload, *live = await load(ctx)
        if live and live[0]:  # spread: entries filled together (a cold start) do not all expire together
            ttl[0] = min(ttl[0], services.ttls[live[0]] * (1 - LIVE_SPREAD * random.random()))
        body = orjson.dumps(payload)
        etag = hashlib.blake2b(body, digest_size=10).hexdigest()
        return f"{owner or ''}\n{etag}\n".encode() + body
    return ttl, render


async def fill(ctx: Any, load: Callable[[Any], Awaitable[tuple]], cached: Cached,
               key: str, group: str | None) -> web.Response:
    """Through the cache (Redis, single-flight), loading from the origin (``load(ctx)``) on a miss.
    ``load`` returns ``(owner, payload)``, or ``(owner, payload, "live")`` for a resource whose state
    can still change: it is then kept only the ``live`` TTL."""
    ttl, render = _entry(ctx, load, cached)
    if ttl[0] <= 0:  # not cached at all (a TTL of 0): no round trip to the cache for a lookup or a fill
        return answer(ctx.request, ctx.principal, await render())
    raw = await ctx.services.cache.get(key, lambda: ttl[0], render, cached.namespace, group)
    return answer(ctx.request, ctx.principal, raw)


def refresh(ctx: Any, load: Callable[[Any], Awaitable[tuple]], cached: Cached, due: str, group: str | None) -> None:
    """The hit just answered was near its end (``due``, from ``peek``): load it again and store it in
    the background, as its miss would have (the caller was allowed to see it, so may load it)."""
    ttl, render = _entry(ctx, load, cached)
    ctx.services.cache.refresh(due, lambda: ttl[0], render, cached.namespace, group)


@functools.lru_cache(maxsize=HEADS)
def _head(head: bytes) -> tuple[str, str, CIMultiDict, CIMultiDict]:
    """An entry's head (``owner\netag``, a few dozen bytes) taken apart once, with the response
    headers made: memoized by the head alone, so no body is held here, nor kept alive once the
    cache has dropped its entry."""
    owner, etag = head.split(b"\n")
    quoted = f'"{etag.decode()}"'
    not_modified = CIMultiDict({"ETag": quoted, "Cache-Control": "private, no-cache"})
    headers = CIMultiDict(not_modified)
    headers["Content-Type"] = "application/json"
    return owner.decode(), quoted, headers, not_modified
