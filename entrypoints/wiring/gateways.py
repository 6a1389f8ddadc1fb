"""Gateways: the outgoing HTTP session, the real gateways' settings and registry, the sandbox."""
from __future__ import annotations

from dependency_injector import containers, providers

from adapters.gateways.base import http_session
from adapters.gateways.routing import build_registry
from adapters.gateways.sandbox import SandboxGateway


class Gateways(containers.DeclarativeContainer):
    exports = {"sandbox": "sandbox", "gateways": "registry", "gateway_settings": "settings"}

    config = providers.Configuration()
    core = providers.DependenciesContainer()
    cache = providers.DependenciesContainer()

    http_session = providers.Resource(http_session)
    #: from the same environment as every other setting (``Settings.gateways``)
    settings = providers.Callable(lambda settings: settings.gateways, core.settings)
    sandbox = providers.Singleton(SandboxGateway, store=cache.durable_kv, webhook_secret=config.sandbox_secret,
                                  public_url=config.public_url, clock=core.clock, shop_name=config.shop_name)
    registry = providers.Singleton(
        build_registry, http_session, settings, metrics=core.metrics, clock=core.clock, guard=True,
        extra=providers.Callable(lambda on, sandbox: {"sandbox": sandbox} if on else {},
                                 config.sandbox_enabled, sandbox))
