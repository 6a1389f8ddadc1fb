"""Core: configuration, metrics, time, ids, security, the notifier, pricing tables (the fraud rules
are the ``fraud`` container's)."""
from __future__ import annotations

from dependency_injector import containers, providers

from adapters.demo import load_pricing
from adapters.memory.infrastructure import LogNotifier
from adapters.metrics import Metrics
from adapters.security import Argon2Hasher, JwtTokens
from adapters.system import RandomIds, SystemClock


class Core(containers.DeclarativeContainer):
    exports = {"metrics": "metrics"}

    config = providers.Configuration()
    #: the typed ``entrypoints.settings.Settings`` the flat ``config`` was made from
    settings = providers.Dependency()

    metrics = providers.Singleton(Metrics)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(RandomIds, clock)

    #: argon2id (scrypt hashes of earlier releases verify, and are rehashed at login)
    hasher = providers.Singleton(Argon2Hasher, memory_kib=config.argon2_memory_kib, time_cost=config.argon2_time_cost)
    tokens = providers.Singleton(JwtTokens, secret=config.jwt_secret, access_ttl=config.access_token_ttl,
                                 refresh_ttl=config.refresh_token_ttl, guest_ttl=config.guest_token_ttl, clock=clock)
    notifier = providers.Singleton(LogNotifier)
    #: shipping rates, pickup stations and tax rules (PAYPORT_PRICING_FILE, else the defaults)
    pricing = providers.Singleton(load_pricing, config.pricing_file)
    shipping_rates = providers.Callable(lambda pricing: pricing[0], pricing)
    tax_rules = providers.Callable(lambda pricing: pricing[1], pricing)
