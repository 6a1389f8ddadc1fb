"""Which gateways serve a currency/country, and in what order (failover itself is the use case's)."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from adapters.gateways.config import GatewaySettings
from adapters.gateways.flutterwave import FlutterwaveGateway
from adapters.gateways.mtn_momo import MtnMomoGateway
from adapters.gateways.paystack import PaystackGateway
from adapters.gateways.resilience import CircuitBreaker, ResilientGateway, RetryPolicy
from adapters.gateways.stripe import StripeGateway
from application.ports.gateways import PaymentGateway

log = logging.getLogger("payport.gateways.routing")

#: Currency (or "CUR:CC" for a country override) -> gateways in preference order.
DEFAULT_ROUTES: dict[str, list[str]] = {
    "NGN": ["paystack", "flutterwave"],
    "GHS": ["paystack", "flutterwave"],
    "KES": ["flutterwave"],
    **{c: ["mtn_momo", "flutterwave"] for c in ("UGX", "RWF", "XOF", "XAF")},
    **{c: ["stripe"] for c in ("USD", "EUR", "GBP")},
}
ADAPTERS: dict[str, type] = {"stripe": StripeGateway, "paystack": PaystackGateway,
                             "flutterwave": FlutterwaveGateway, "mtn_momo": MtnMomoGateway}
SANDBOX = "sandbox"


class StaticGatewayRegistry:
    """``GatewayRegistry`` over a fixed set of (enabled) gateways and a route table."""

    def __init__(self, gateways: Mapping[str, PaymentGateway],
                 routes: Mapping[str, list[str]] | None = None) -> None:
        self._gateways = {n: g for n, g in gateways.items() if getattr(g, "enabled", True)}
        self._routes = {k.upper(): list(v) for k, v in (routes or DEFAULT_ROUTES).items()}

    def get(self, name: str) -> PaymentGateway | None:
        return self._gateways.get(name)

    def names(self) -> list[str]:
        return list(self._gateways)

    def route(self, currency: str, country: str | None) -> list[str]:
        """The configured order for ``currency`` (a ``"CUR:CC"`` key wins), keeping only registered
        gateways that take the currency. The sandbox (if registered) serves only currencies no real
        gateway takes: a real payment must never fail over into a gateway where no money moves."""
        currency = currency.upper()
        key = f"{currency}:{country.upper()}" if country else None
        order = self._routes.get(key) if key in self._routes else self._routes.get(currency, [])
        chosen = [n for n in dict.fromkeys(order) if n != SANDBOX and n in self._gateways
                  and currency in self._gateways[n].currencies]
        if not chosen and SANDBOX in self._gateways:
            chosen.append(SANDBOX)
        return chosen


def build_gateways(session: aiohttp.ClientSession, settings: Mapping[str, GatewaySettings], *,
                   metrics: Any = None, clock: Any = None, resilient: bool = True,
                   retry_policy: RetryPolicy | None = None, failure_threshold: int = 5,
                   reset_timeout: float = 30.0) -> dict[str, PaymentGateway]:
    """The enabled real gateways, each behind its own circuit breaker and retry policy."""
    gateways: dict[str, PaymentGateway] = {}
    for name, cfg in settings.items():
        if not cfg.enabled:
            log.info("gateway %s disabled: %s", name, cfg.disabled_reason)
            continue
        adapter = ADAPTERS[name](session, cfg, metrics=metrics, clock=clock)
        if resilient:
            breaker = CircuitBreaker(name, failure_threshold, reset_timeout, clock=clock, metrics=metrics)
            adapter = ResilientGateway(adapter, breaker, retry_policy)
        gateways[name] = adapter
    return gateways


def build_registry(session: aiohttp.ClientSession, settings: Mapping[str, GatewaySettings], *,
                   extra: Mapping[str, PaymentGateway] | None = None,
                   routes: Mapping[str, list[str]] | None = None, **options: Any) -> StaticGatewayRegistry:
    """Registry of the enabled real gateways plus ``extra`` ones (e.g. ``{"sandbox": sandbox}``)."""
    gateways = build_gateways(session, settings, **options)
    gateways.update(extra or {})
    return StaticGatewayRegistry(gateways, routes)
