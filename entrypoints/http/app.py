"""The app factory shared by ``payport serve`` and the tests."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import attrs
from aiohttp import web

from container import resolve
from container import start as start_container
from container import stop as stop_container
from application.errors import DependencyUnavailable
from adapters.demo import CATEGORIES, demo_coupons, demo_products
from entrypoints.http import handlers  # noqa: F401 - registers the routes
from entrypoints.http.endpoint import ROUTES, method_not_allowed_handler, not_found_handler, wrap
from entrypoints.http.keys import SERVICES

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


@attrs.define
class Services:
    """Everything a handler may use, resolved once at start-up from the container."""

    auth: Any
    catalog: Any
    cart: Any
    addresses: Any
    checkout: Any
    orders: Any
    initiate_payment: Any
    payments: Any
    settlement: Any
    refunds: Any
    webhooks: Any
    notifications: Any
    maintenance: Any
    sandbox: Any
    gateways: Any
    gateway_settings: Any
    cache: Any
    rate_limiter: Any
    idempotency: Any
    metrics: Any
    rate_limits: dict
    ttls: dict
    trusted_proxies: list
    health_checks: dict


async def build_services(container) -> Services:
    config = container.config()
    names = [f.name for f in attrs.fields(Services) if f.name not in ("rate_limits", "ttls", "trusted_proxies")]
    resolved = {name: await resolve(getattr(container, name)) for name in names}
    return Services(**resolved, rate_limits={k: tuple(v) for k, v in config["rate_limits"].items()},
                    ttls=config["ttls"], trusted_proxies=config["trusted_proxies"])


async def prepare(container) -> Services:
    """Start resources, subscribe event handlers, load demo data and the bootstrap admin."""
    await start_container(container)
    services = await build_services(container)
    services.notifications.subscribe_to(await resolve(container.uow))
    config = container.config()
    try:
        demo = config["demo_data"]
        if demo == "on" or (demo == "auto" and not config["database_url"]):
            added = await services.catalog.seed(CATEGORIES, demo_products(), demo_coupons())
            if added:
                log.info("loaded the demo catalog (%d products, coupon WELCOME10)", added)
        if config["bootstrap_admin"]:
            if await services.auth.bootstrap_admin(config["bootstrap_admin"]):
                log.info("created the bootstrap admin")
    except DependencyUnavailable as exc:  # start anyway: requests answer 503 until the database is back
        log.error("start-up data not loaded: %s is unavailable", exc.details.get("dependency"))
    return services


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
