"""The app factory shared by ``payport serve`` and the tests."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from container import stop as stop_container
from entrypoints.bootstrap import prepare
from entrypoints.http import handlers  # noqa: F401 - registers the routes
from entrypoints.http.endpoint import ROUTES
from entrypoints.http.pipeline import method_not_allowed_handler, not_found_handler, wrap
from entrypoints.http.keys import SERVICES

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


def create_app(container) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        app[SERVICES] = await prepare(container)
        try:
            yield
        finally:
            await stop_container(container)

    app.cleanup_ctx.append(lifecycle)
    by_path: dict[str, list] = {}
    for route in ROUTES:
        by_path.setdefault(route.path, []).append(route)
    for path, routes in by_path.items():
        resource = app.router.add_resource(path)
        for route in routes:
            resource.add_route(route.method, wrap(route, app))
        resource.add_route("*", method_not_allowed_handler([r.method for r in routes]))
    app.router.add_route("*", "/{tail:.*}", not_found_handler)
    return app
