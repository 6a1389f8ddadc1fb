"""``Idempotency-Key``: the first final answer to a key is stored and replayed byte-for-byte; the
same key with another request is refused (422), and one still running answers 409."""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from aiohttp import web

from application.ports import StoredResponse
from entrypoints.http import problems

if TYPE_CHECKING:
    from entrypoints.http.endpoint import Ctx, Route


async def idempotent(route: Route, ctx: Ctx, raw: bytes) -> web.StreamResponse:
    """Run ``route``'s handler at most once per (caller, route, key); ``raw`` is the request body,
    fingerprinted with the path and query."""
    key = ctx.idempotency_key
    if not key:
        return problems.problem(400, "Idempotency-Key required", "this operation needs an Idempotency-Key header",
                                "idempotency_key_required")
    if len(key) > 255 or not key.isprintable():
        return problems.problem(400, "Invalid Idempotency-Key", "at most 255 printable characters",
                                "idempotency_key_invalid")
    store = ctx.services.idempotency
    scope = f"{ctx.principal.id if ctx.principal else 'anon'}:{route.method}:{route.path}"
    fingerprint = hashlib.sha256(ctx.request.path_qs.encode() + b"\x00" + raw).hexdigest()
    begun = await store.begin(scope, key, fingerprint, lock_timeout=60)
    if begun.state == "replay":
        stored = begun.response
        return web.Response(status=stored.status, body=stored.body, content_type=stored.content_type,
                            headers={"Idempotent-Replayed": "true"})
    if begun.state == "mismatch":
        return problems.problem(422, "Idempotency-Key reused", "this key was used with a different request",
                                "idempotency_key_reused")
    if begun.state == "in_flight":
        return problems.problem(409, "Request in progress", "a request with this Idempotency-Key is still running",
                                "idempotency_in_flight", {"Retry-After": "1"})
    try:
        response = await _run(route, ctx)
    except BaseException:
        await store.release(scope, key)
        raise
    if response.status >= 500 or response.status == 429 or not isinstance(response, web.Response):
        await store.release(scope, key)  # not a final answer: the client may retry with the same key
    else:
        await store.complete(scope, key, StoredResponse(response.status, response.content_type, response.body))
    return response


async def _run(route: Route, ctx: Ctx) -> web.StreamResponse:
    """The handler's answer, errors included (as problem+json), so that it can be stored."""
    try:
        return await route.handler(ctx)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problems.from_exception(exc)
    except Exception as exc:  # noqa: BLE001
        return problems.from_exception(exc)
