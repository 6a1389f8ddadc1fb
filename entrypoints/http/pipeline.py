"""The per-request path of every route: auth -> rate limit -> body validation -> idempotency ->
handler, and every error as problem+json. The app has no middleware: ``wrap`` makes each route's
aiohttp handler, which keeps aiohttp on its fastest path; unmatched paths and methods are answered
by ``not_found_handler`` and ``method_not_allowed_handler``."""
from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from application.errors import RateLimited, TokenRecheckDue
from entrypoints import logs
from entrypoints.http import browser
from entrypoints.http import cached as cached_read
from entrypoints.http import problems
from entrypoints.http.auth import caller, principal_of
from entrypoints.http.endpoint import Ctx, Route
from entrypoints.http.idempotency import idempotent
from entrypoints.http.keys import SERVICES
from entrypoints.http.limits import check_rates


def wrap(route: Route, app: web.Application):
    """The request handler for ``route`` in ``app``. Every answer leaves through here: errors as
    problem+json, each request counted and timed. A plain GET (no body, no Idempotency-Key, no rate
    limit: every cached read) goes straight to its handler, with no coroutine in between; a cached
    read held in this process is answered without awaiting anything."""
    handler, auth, cached, plain = route.handler, route.auth, route.cached, route.plain and route.method == "GET"
    html = route.content_type == "text/html"
    live: list = [None, None, ()]  # the app's services, their RouteStats for this route, the CORS origins

    async def handle(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        rid = logs.request_id(request.headers.get("X-Request-ID"))
        logs.REQUEST.set((rid, route.path))  # every line logged for this request carries both
        services, stats, cors = live
        if services is None:  # the app has started (it answers requests): its services are there
            services = app[SERVICES]
            stats = services.metrics.http.route(route.method, route.path)
            cors = frozenset(services.edge.cors_origins)
            live[:] = services, stats, cors
        response: web.StreamResponse | None = None
        try:
            if cached is not None:
                try:
                    principal = principal_of(request, services, auth)
                except TokenRecheckDue as due:
                    principal = await services.auth.authenticate(due.token)
                key, group = cached.locate(request, principal)
                raw = services.cache.peek(key, cached.namespace, group)
                if raw is not None:
                    due = services.cache.due  # set by this peek alone: its entry is near its end
                    response = cached_read.answer(request, principal, raw)
                    if due is not None:  # answered from it; loaded again in the background
                        cached_read.refresh(Ctx(request, services, principal, None, None, route.query), handler,
                                            cached, due, group)
                else:
                    ctx = Ctx(request, services, principal, None, None, route.query)
                    response = await cached_read.fill(ctx, handler, cached, key, group)
            elif plain:
                response = await handler(Ctx(request, services, await caller(request, services, auth), None, None,
                                             route.query))
            else:
                response = await _handle(route, request, services)
        except web.HTTPException as exc:
            status = exc.status
            if exc.status < 400:  # redirects are raised; aiohttp sends them
                elapsed = time.perf_counter() - started
                stats.observe(status, elapsed)
                exc.headers["X-Request-ID"] = rid
                logs.access(route.method, route.path, status, elapsed)
                raise
            response = problems.from_exception(exc)
        except Exception as exc:  # noqa: BLE001 - the one place everything becomes problem+json
            response = problems.from_exception(exc)
        status = response.status
        if html:
            browser.secure_html(response)
        if cors and (origin := request.headers.get("Origin")) is not None:
            browser.allow_origin(response, origin, cors)
        elapsed = time.perf_counter() - started
        stats.observe(status, elapsed)
        response.headers["X-Request-ID"] = rid
        logs.access(route.method, route.path, status, elapsed)
        return response
    return handle


async def _handle(route: Route, request: web.Request, services: Any) -> web.StreamResponse:
    principal = await caller(request, services, route.auth)
    rate_headers: dict[str, str] = {}
    if route.limits:
        try:
            rate_headers = await check_rates(services, route.limits, request, principal)
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
    ctx = Ctx(request, services, principal, body, key, route.query)
    if route.idempotency == "none" or (key is None and route.idempotency == "optional"):
        response = await route.handler(ctx)  # what it raises, ``handle`` answers
    else:
        response = await idempotent(route, ctx, raw)
    return _with(response, rate_headers) if rate_headers else response


async def not_found_handler(request: web.Request) -> web.Response:
    request.app[SERVICES].metrics.http.observe(request.method, "unmatched", 404, 0.0)
    return problems.problem(404, "Not found", "no such route", "not_found")


def method_not_allowed_handler(allowed: list[str]):
    allow = ",".join(sorted(allowed))

    async def handle(request: web.Request) -> web.Response:
        services = request.app[SERVICES]
        if browser.is_preflight(request):
            services.metrics.http.observe(request.method, "preflight", 204, 0.0)
            return browser.preflight(request, services.edge.cors_origins, allowed)
        services.metrics.http.observe(request.method, "method_not_allowed", 405, 0.0)
        return problems.problem(405, "Method not allowed", f"allowed: {allow}", "method_not_allowed",
                                {"Allow": allow})
    return handle


def _with(response: web.StreamResponse, headers: dict[str, str]) -> web.StreamResponse:
    response.headers.update(headers)
    return response
