"""The endpoint wrapper: auth -> rate limit -> body validation -> idempotency -> handler.

Each route is declared once with ``@endpoint(...)``; the same declaration drives the router and the
OpenAPI document, so the two cannot drift apart.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import ipaddress
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import attrs
import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from application.errors import RateLimited, Unauthorized
from application.ports import StoredResponse
from domain.users import Principal
from entrypoints.http import cached as cached_read
from entrypoints.http import problems
from entrypoints.http.keys import SERVICES

Auth = Literal["required", "optional", "none"]


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


def client_ip(request: web.Request, trusted: list[str]) -> str:
    remote = request.remote or "unknown"
    if not trusted or remote not in trusted:
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):  # the first hop, from the right, that is not one of our proxies
        if hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote
    return remote


def principal_of(request: web.Request, services: Any, mode: Auth) -> Principal | None:
    if mode == "none":
        return None
    header = request.headers.get("Authorization")
    if not header:
        if mode == "required":
            raise Unauthorized("send Authorization: Bearer <access token>")
        return None
    return services.auth.principal_from_token(bearer_token(header))


@functools.lru_cache(maxsize=4096)
def bearer_token(header: str) -> str:
    """The token of an ``Authorization: Bearer`` header (the scheme in any case, spaces around the
    token dropped); Unauthorized for any other. Remembered (bounded) by the header: a client sends
    the same one on every request, and the token it returns, one string object, keeps its hash."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token


async def check_rate(services: Any, policy: str, subject: str) -> dict[str, str]:
    """Count a hit; raise RateLimited when over. Returns the RateLimit-* headers to send."""
    limit, window = services.rate_limits[policy]
    result = await services.rate_limiter.hit(f"{policy}:{subject}", limit, window)
    reset = str(max(0, int(result.reset_after + 0.999)))
    headers = {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(result.remaining), "RateLimit-Reset": reset,
               "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(result.remaining),
               "X-RateLimit-Reset": reset}
    if not result.allowed:
        services.metrics.rate_limited.labels(policy).inc()
        exc = RateLimited(f"rate limit of {limit} per {window}s reached for {policy}",
                          retry_after=result.retry_after, limit=limit)
        exc.headers = headers
        raise exc
    return headers


def wrap(route: Route, app: web.Application):
    """The request handler for ``route`` in ``app``. Every answer leaves through here: errors as
    problem+json, each request counted and timed. The app has no middleware, which keeps aiohttp on
    its fastest path; unmatched paths and methods are answered by ``not_found`` and
    ``method_not_allowed``. A plain GET (no body, no Idempotency-Key, no rate limit: every cached
    read) goes straight to its handler, with no coroutine in between; a cached read held in this
    process is answered without awaiting anything."""
    handler, auth, cached, plain = route.handler, route.auth, route.cached, route.plain and route.method == "GET"
    live: list = [None, None]  # the app's services and their RouteStats for this route, from the first request

    async def handle(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        services, stats = live
        if services is None:  # the app has started (it answers requests): its services are there
            services = app[SERVICES]
            stats = services.metrics.http.route(route.method, route.path)
            live[:] = services, stats
        try:
            if cached is not None:
                principal = principal_of(request, services, auth)
                key, group = cached.locate(request, principal)
                raw = services.cache.peek(key, cached.namespace, group)
                if raw is not None:
                    response = cached_read.answer(request, principal, raw)
                else:
                    ctx = Ctx(request, services, principal, None, None)
                    response = await cached_read.fill(ctx, handler, cached, key, group)
            elif plain:
                response = await handler(Ctx(request, services, principal_of(request, services, auth), None, None))
            else:
                response = await _handle(route, request, services)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            if exc.status < 400:  # redirects are raised; aiohttp sends them
                raise
            response = problems.from_exception(exc)
            return response
        except Exception as exc:  # noqa: BLE001 - the one place everything becomes problem+json
            response = problems.from_exception(exc)
            status = response.status
            return response
        finally:
            stats.observe(status, time.perf_counter() - started)
    return handle


async def _handle(route: Route, request: web.Request, services: Any) -> web.StreamResponse:
    principal = principal_of(request, services, route.auth)
    rate_headers: dict[str, str] = {}
    if route.rate_limit:
        subject = principal.id if principal else "ip:" + client_ip(request, services.trusted_proxies)
        try:
            rate_headers = await check_rate(services, route.rate_limit, subject)
        except RateLimited as exc:
            return _with(problems.from_exception(exc), exc.headers)
    raw = await request.read() if route.body is not None or request.can_read_body else b""
    body = None
    if route.body is not None:
        try:
            body = route.body.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            return _with(problems.validation_problem(exc.errors(include_url=False)), rate_headers)
    key = request.headers.get("Idempotency-Key")
    ctx = Ctx(request, services, principal, body, key)
    if route.idempotency == "none" or (key is None and route.idempotency == "optional"):
        response = await route.handler(ctx)  # what it raises, ``handle`` answers
    else:
        response = await _idempotent(route, ctx, raw)
    return _with(response, rate_headers) if rate_headers else response


async def not_found_handler(request: web.Request) -> web.Response:
    request.app[SERVICES].metrics.http.observe(request.method, "unmatched", 404, 0.0)
    return problems.problem(404, "Not found", "no such route", "not_found")


def method_not_allowed_handler(allowed: list[str]):
    allow = ",".join(sorted(allowed))

    async def handle(request: web.Request) -> web.Response:
        request.app[SERVICES].metrics.http.observe(request.method, "method_not_allowed", 405, 0.0)
        return problems.problem(405, "Method not allowed", f"allowed: {allow}", "method_not_allowed",
                                {"Allow": allow})
    return handle


def _with(response: web.StreamResponse, headers: dict[str, str]) -> web.StreamResponse:
    response.headers.update(headers)
    return response


async def _run(route: Route, ctx: Ctx) -> web.StreamResponse:
    try:
        return await route.handler(ctx)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problems.from_exception(exc)
    except Exception as exc:  # noqa: BLE001
        return problems.from_exception(exc)


async def _idempotent(route: Route, ctx: Ctx, raw: bytes) -> web.StreamResponse:
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
