"""Start-up shared by every process (``payport serve``, ``payport worker``, ``payport reconcile``):
start the container's resources, resolve the use cases, subscribe the in-transaction handlers, and
load the demo data and the bootstrap admin. Nothing here knows about HTTP."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from adapters.demo import CATEGORIES, TAGS, demo_coupons, demo_faq, demo_products, demo_reviews
from application.errors import DependencyUnavailable
from container import resolve
from container import start as start_container
from entrypoints.settings import origin_of
from entrypoints.wiring import gather_list, service_providers

log = logging.getLogger(__name__)


@attrs.define
class Edge:
    """What the edge keeps browsers and callers to: the origins CORS lets read our answers, those a
    payment may return the customer to, our own, and how long a login past its email's ceiling
    waits (``sleep``: a test's clock may stand in)."""

    cors_origins: frozenset[str]
    return_url_origins: frozenset[str]
    own_origins: frozenset[str]
    login_slowdown: float
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


class Services:
    """Everything a handler may use (``ctx.services.<name>``), resolved once at start-up: every
    context container's use cases, what the infrastructure containers export, and the limits and
    TTLs. Plain attributes: handlers read them on every request."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"Services({', '.join(sorted(self.__dict__))})"


async def build_services(container) -> Services:
    values: dict[str, Any] = {}
    for name, provider in service_providers(container):
        if name in values:
            raise RuntimeError(f"two containers provide the service {name!r}")
        values[name] = await resolve(provider)
    config = container.config()
    return Services(**values, rate_limits={k: tuple(v) for k, v in config["rate_limits"].items()},
                    ttls=config["ttls"], trusted_proxies=config["trusted_proxies"],
                    edge=Edge(cors_origins=frozenset(config["cors_origins"]),
                              return_url_origins=frozenset(config["return_url_origins"]),
                              own_origins=frozenset({origin_of(config["public_url"])}),
                              login_slowdown=config["login_slowdown"]))


async def prepare(container) -> Services:
    """Start resources, subscribe event handlers, load demo data and the bootstrap admin."""
    await start_container(container)
    services = await build_services(container)
    uow = await resolve(container.storage.uow)
    for subscriber in await gather_list(container, "subscriptions"):
        subscriber.subscribe_to(uow)
    settings = await resolve(container.core.settings)
    try:
        if settings.demo_data_enabled:
            added = await services.catalog.seed(CATEGORIES, demo_products(), demo_coupons(), TAGS)
            reviewed = await services.reviews.seed(demo_reviews())
            await services.faq.seed(*demo_faq())
            if added:
                log.info("loaded the demo catalog (%d products, %d reviews, coupon WELCOME10, an FAQ)", added,
                         reviewed)
        if settings.security.bootstrap_admin:
            if await services.auth.bootstrap_admin(settings.security.bootstrap_admin.get_secret_value()):
                log.info("created the bootstrap admin")
    except DependencyUnavailable as exc:  # start anyway: requests answer 503 until the database is back
        log.error("start-up data not loaded: %s is unavailable", exc.details.get("dependency"))
    return services
