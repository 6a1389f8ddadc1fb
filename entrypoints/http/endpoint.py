"""Route declarations: ``@endpoint(...)`` and the ``Route`` it records, and ``Ctx``, what a
handler receives. The same declaration drives the router, the request pipeline (``pipeline``) and
the OpenAPI document, so they cannot drift apart.
"""
from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import attrs
import orjson
from aiohttp import web
from pydantic import BaseModel

from domain.users import Principal
from entrypoints.http import cached as cached_read
from entrypoints.http.auth import Auth


@attrs.define
class Ctx:
    request: web.Request
    services: Any
    principal: Principal | None
    body: Any
    idempotency_key: str | None

    @property
    def user(self) -> Principal:
        assert self.principal is not None
        return self.principal


@attrs.frozen
class Route:
    method: str
    path: str
    handler: Callable[[Ctx], Awaitable[web.StreamResponse]]
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: Auth = "required"
    idempotency: Literal["none", "optional", "required"] = "none"
    rate_limit: str | None = None
    query: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"
    #: where the answer is cached (``cached.one``, ``cached.page``): the wrapper serves it cache-aside,
    #: and the handler returns ``(owner id or None, payload)``, called only on a miss
    cached: cached_read.Cached | None = None

    #: no body, no Idempotency-Key, no rate limit: a GET of this route needs none of that machinery
    plain: bool = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "plain", self.body is None and self.idempotency == "none" and self.rate_limit is None)
        if self.cached is not None and not (self.plain and self.method == "GET"
                                            and inspect.iscoroutinefunction(self.handler)):
            raise TypeError(f"{self.method} {self.path}: a cached read is a plain GET whose handler is async")


ROUTES: list[Route] = []


def endpoint(method: str, path: str, *, summary: str, tag: str, **options: Any):
    def register(handler):
        if method == "POST" and "idempotency" not in options and options.get("auth", "required") != "none":
            options["idempotency"] = "optional"  # every mutating POST honours Idempotency-Key
        ROUTES.append(Route(method, path, handler, summary, tag, **options))
        return handler
    return register


def json_response(payload: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json",
                        headers=headers)
