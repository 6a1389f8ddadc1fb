"""The app factory shared by ``payport serve`` and the tests."""
from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from container import stop as stop_container
from entrypoints.bootstrap import prepare
from entrypoints.http.endpoint import Route, RouteTable, check_tables
from entrypoints.http.keys import OPENAPI, SERVICES, TABLES
from entrypoints.http.openapi import Document
from entrypoints.http.pipeline import method_not_allowed_handler, not_found_handler, wrap
from entrypoints.http.routes import ROUTE_TABLES
from entrypoints.worker import Background

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
#: what a path parameter (an id, a sku, a reference, a gateway's name) may be: a path that names
#: anything else (a NUL byte, a ``:`` that would reach an internal cache key, ``/``, ``%``) matches
#: no route and answers 404 before any code runs. The OpenAPI document states it (``pattern``).
PATH_PARAMETER = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_PARAMETER = re.compile(r"\{(\w+)\}")


def constrained(path: str) -> str:
    """``path`` for the router: each ``{name}`` limited to PATH_PARAMETER."""
    return _PARAMETER.sub(lambda m: "{" + m.group(1) + ":" + PATH_PARAMETER + "}", path)


def create_app(container, tables: Sequence[RouteTable] = ROUTE_TABLES, *, jobs: bool = False) -> web.Application:
    """The app serving ``tables`` (every context's, by default) with the container's services.
    Refuses (RouteDeclarationError) tables whose routes clash or name a rate-limit policy or a
    cache TTL the configuration does not have. ``jobs``: the worker's jobs run in this process,
    started with the app and stopped before it (``payport serve`` on the embedded default)."""
    config = container.config()
    tables = tuple(tables)
    routes = check_tables(tables, rate_limits=config["rate_limits"], ttls=config["ttls"])
    app = web.Application(client_max_size=MAX_BODY)
    app[TABLES] = tables
    app[OPENAPI] = Document(tables)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        app[SERVICES] = await prepare(container)
        background = await Background.start(container) if jobs else None
        try:
            yield
        finally:
            if background is not None:
                await background.stop()
            await app[SERVICES].cache.drain()  # refills started by reads (before the pools close)
            await stop_container(container)

    app.cleanup_ctx.append(lifecycle)
    by_path: dict[str, list[Route]] = {}
    for route in routes:
        by_path.setdefault(route.path, []).append(route)
    for path, on_path in by_path.items():
        resource = app.router.add_resource(constrained(path))
        for route in on_path:
            resource.add_route(route.method, wrap(route, app))
        resource.add_route("*", method_not_allowed_handler([r.method for r in on_path]))
    app.router.add_route("*", r"/{tail:[\s\S]*}", not_found_handler)  # any path, control characters included
    return app
