"""Core: configuration, metrics, time, ids, security, the notifier, pricing tables (the fraud rules
are the ``fraud`` container's)."""
from __future__ import annotations

from dependency_injector import containers, providers

from adapters.demo import load_pricing
from adapters.memory.infrastructure import LogNotifier
from adapters.metrics import Metrics
from adapters.security import JwtTokens, ScryptHasher
from adapters.system import RandomIds, SystemClock


class Core(containers.DeclarativeContainer):
    exports = {"metrics": "metrics"}

    config = providers.Configuration()
    #: the typed ``entrypoints.settings.Settings`` the flat ``config`` was made from
    settings = providers.Dependency()

    metrics = providers.Singleton(Metrics)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(RandomIds, clock)

    hasher = providers.Singleton(ScryptHasher, n=config.scrypt_n)
    tokens = providers.Singleton(JwtTokens, secret=config.jwt_secret)
    notifier = providers.Singleton(LogNotifier)
    #: shipping rates, pickup stations and tax rules (PAYPORT_PRICING_FILE, else the defaults)
    pricing = providers.Singleton(load_pricing, config.pricing_file)
    shipping_rates = providers.Callable(lambda pricing: pricing[0], pricing)
    tax_rules = providers.Callable(lambda pricing: pricing[1], pricing)
