"""The composition root: the only place (with ``entrypoints/wiring/``) that knows which adapter
serves which port.

With no configuration it serves the embedded default (memory adapters, sandbox gateway, demo data).
``DATABASE_URL`` switches storage to Postgres and ``REDIS_URL`` the cache, sessions, rate limits and
events to Redis. Settings come from ``entrypoints.settings``; the containers are split by concern
(``entrypoints/wiring/``), one line here per bounded context.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dependency_injector import containers, providers

from entrypoints.settings import CACHE_TTLS, RATE_LIMITS, Settings, load_settings
from entrypoints.wiring import gather_dict, resolve
from entrypoints.wiring.backoffice import BackofficeContainer
from entrypoints.wiring.cache import STRICT_RATE_POLICIES, Cache
from entrypoints.wiring.cart import CartContainer
from entrypoints.wiring.catalog import CatalogContainer
from entrypoints.wiring.checkout import CheckoutContainer
from entrypoints.wiring.core import Core
from entrypoints.wiring.delivery import DeliveryContainer
from entrypoints.wiring.fraud import FraudContainer
from entrypoints.wiring.gateways import Gateways
from entrypoints.wiring.identity import IdentityContainer
from entrypoints.wiring.merchant_webhooks import MerchantWebhooksContainer
from entrypoints.wiring.notifications import NotificationsContainer
from entrypoints.wiring.ops import OpsContainer
from entrypoints.wiring.orders import OrdersContainer
from entrypoints.wiring.payments import PaymentsContainer
from entrypoints.wiring.reviews import ReviewsContainer
from entrypoints.wiring.storage import Storage
from entrypoints.wiring.support import SupportContainer
from entrypoints.wiring.wishlist import WishlistContainer

__all__ = ["CACHE_TTLS", "RATE_LIMITS", "STRICT_RATE_POLICIES", "Container", "build_container", "resolve",
           "settings_from_env", "start", "stop"]


class Container(containers.DeclarativeContainer):
    config = providers.Configuration()

    core = providers.Container(Core, config=config)
    cache = providers.Container(Cache, config=config, core=core)
    storage = providers.Container(Storage, config=config, core=core, cache=cache)
    gateways = providers.Container(Gateways, config=config, core=core, cache=cache)

    identity = providers.Container(IdentityContainer, config=config, core=core, storage=storage)
    catalog = providers.Container(CatalogContainer, core=core, storage=storage, cache=cache)
    cart = providers.Container(CartContainer, core=core, storage=storage)
    delivery = providers.Container(DeliveryContainer, core=core, storage=storage)
    checkout = providers.Container(CheckoutContainer, config=config, core=core, storage=storage, cache=cache)
    orders = providers.Container(OrdersContainer, config=config, core=core, storage=storage, cache=cache)
    fraud = providers.Container(FraudContainer, config=config, core=core, storage=storage)
    payments = providers.Container(PaymentsContainer, config=config, core=core, storage=storage, cache=cache,
                                   gateways=gateways, fraud=fraud)
    notifications = providers.Container(NotificationsContainer, config=config, core=core, storage=storage)
    merchant_webhooks = providers.Container(MerchantWebhooksContainer, config=config, core=core, storage=storage,
                                            notifications=notifications)
    ops = providers.Container(OpsContainer, config=config, core=core, storage=storage, cache=cache,
                              gateways=gateways, payments=payments)
    wishlist = providers.Container(WishlistContainer, core=core, storage=storage)
    reviews = providers.Container(ReviewsContainer, core=core, storage=storage, cache=cache)
    support = providers.Container(SupportContainer, core=core, storage=storage, cache=cache)
    backoffice = providers.Container(BackofficeContainer, config=config, core=core, storage=storage, cache=cache,
                                     gateways=gateways, orders=orders, payments=payments, fraud=fraud)


async def start(container: Container) -> None:
    """Open the resources the configuration selects (pools, Redis clients, the HTTP session, the
    tiered cache's listener); the others yield None."""
    container.storage.senders.override(providers.Object(await gather_dict(container, "delivery_senders")))
    result = container.init_resources()
    if result is not None:
        await result


async def stop(container: Container) -> None:
    """Close them, each after whatever uses it."""
    result = container.shutdown_resources()
    if result is not None:
        await result


def settings_from_env(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The flat configuration the container is fed (see ``entrypoints.settings.FLAT``)."""
    return load_settings(environ).flat()


def build_container(overrides: Mapping[str, Any] | None = None,
                    environ: Mapping[str, str] = os.environ) -> Container:
    """A container configured from ``environ``, then ``overrides`` (flat keys: tests, CLI flags)."""
    return container_for(load_settings(environ, overrides))


def container_for(settings: Settings, cls: type[Container] = Container) -> Container:
    container = cls()
    container.config.from_dict(settings.flat())
    container.core.settings.override(providers.Object(settings))
    return container
