"""Start-up shared by every process (``payport serve``, ``payport worker``, ``payport reconcile``):
start the container's resources, resolve the use cases, subscribe the in-transaction handlers, and
load the demo data and the bootstrap admin. Nothing here knows about HTTP."""
from __future__ import annotations

import logging
from typing import Any

import attrs

from adapters.demo import CATEGORIES, demo_coupons, demo_products
from application.errors import DependencyUnavailable
from container import resolve
from container import start as start_container

log = logging.getLogger(__name__)


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
