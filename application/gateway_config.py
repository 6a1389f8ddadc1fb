"""Gateway configuration changed at run time: the routing table (currency, or currency and country,
-> gateways in order), which gateways take new payments, and each gateway's per-currency amount
limits. Stored in the database (``PaymentConfigStore``), cached for the gateway-config TTL (1 h)
under ``payment_config:{gateway}`` (the table under ``payment_config:routes``), and applied to the
registry as a snapshot (``GatewayRules``) that its ``route``/``get`` read without I/O.

A save invalidates its key (in every process: the tiered cache's invalidation crosses them) and
refreshes this process's snapshot at once; every process also refreshes its snapshot every
``refresh`` seconds from the cache (a hit while nothing changed), so another process applies a
save within that interval plus the cache's staleness bound. Secrets stay in the environment: a
gateway without credentials cannot be enabled here, and nothing secret is ever returned.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import json

from application import cache_keys
from application.caching import CacheAside
from application.errors import Conflict, ConcurrencyConflict, NotFound
from application.fulfilment import admin_only
from application.ports import Clock
from application.ports.backoffice import ConfigEntry, ConfigurableRegistry, GatewayRules, PaymentConfigStore, Verification
from application.ports.gateways import VerifiedPayment
from application.redaction import redact_text
from domain.errors import InvalidValue, UnknownCurrency
from domain.money import MAX_AMOUNT, exponent
from domain.users import Principal

log = logging.getLogger(__name__)

ROUTES = "routes"
SANDBOX = "sandbox"
_ROUTE_KEY = re.compile(r"^[A-Z]{3}(:[A-Z]{2})?$")


def _ts(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class GatewayConfiguration:
    def __init__(self, store: PaymentConfigStore, registry: ConfigurableRegistry, settings: Mapping[str, Any],
                 clock: Clock, cache: CacheAside | None = None, ttl: float = 3600.0, refresh: float = 5.0) -> None:
        self.store, self.registry, self.settings, self.clock = store, registry, settings, clock
        self.cache, self.ttl, self.refresh_seconds = cache, ttl, refresh

    def known(self) -> list[str]:
        """Every gateway this deployment knows of (configured here or not)."""
        return sorted(set(self.settings) | set(self.registry.names()))

    def _currencies(self, name: str) -> frozenset[str]:
        gateway = self.registry.get(name)
        if gateway is not None:
            return frozenset(gateway.currencies)
        return frozenset(getattr(self.settings.get(name), "currencies", ()))

    # -- reading ---------------------------------------------------------------------------------
    async def _entry(self, name: str) -> ConfigEntry | None:
        async def load() -> bytes:
            entry = await self.store.get(name)
            return json.dumps(None if entry is None else {
                "name": entry.name, "value": entry.value, "version": entry.version,
                "updated_at": entry.updated_at.isoformat(), "updated_by": entry.updated_by}).encode()
        raw = await (self.cache.get(cache_keys.payment_config(name), self.ttl, load, "payment_config")
                     if self.cache is not None else load())
        data = json.loads(raw)
        if data is None:
            return None
        return ConfigEntry(data["name"], data["value"], data["version"], datetime.fromisoformat(data["updated_at"]),
                           data["updated_by"])

    async def _entries(self) -> dict[str, ConfigEntry]:
        found = {}
        for name in [ROUTES, *self.known()]:
            entry = await self._entry(name)
            if entry is not None:
                found[name] = entry
        return found

    async def refresh(self) -> GatewayRules:
        """Read the stored configuration (through the cache) and apply it to the registry."""
        entries = await self._entries()
        routes = entries.get(ROUTES)
        rules = GatewayRules(
            routes=None if routes is None else {k: tuple(v) for k, v in routes.value["routes"].items()},
            disabled=frozenset(n for n, e in entries.items() if n != ROUTES and e.value.get("enabled") is False),
            limits={n: {c: (lim.get("min"), lim.get("max")) for c, lim in e.value.get("limits", {}).items()}
                    for n, e in entries.items() if n != ROUTES},
            loaded_at=self.clock.now())
        self.registry.configure(rules)
        return rules

    async def view(self, principal: Principal) -> dict[str, Any]:
        """The effective configuration for admins (fresh from the cache/database; no secret)."""
        admin_only(principal)
        entries = await self._entries()
        routes = entries.get(ROUTES)
        gateways = []
        for name in self.known():
            entry = entries.get(name)
            settings = self.settings.get(name)
            available = self.registry.get(name) is not None
            gateways.append({
                "name": name, "available": available,
                "enabled": available and not (entry and entry.value.get("enabled") is False),
                "reason": None if available else getattr(settings, "disabled_reason", "not configured here"),
                "credentials": "configured" if available else "missing",
                "currencies": sorted(self._currencies(name)),
                "limits": dict(entry.value.get("limits", {})) if entry else {},
                "version": entry.version if entry else 0,
                "updated_at": _ts(entry.updated_at) if entry else None,
                "updated_by": entry.updated_by if entry else None})
        return {
            "routes": {k: list(v) for k, v in sorted((routes.value["routes"] if routes
                                                      else self.registry.default_routes()).items())},
            "routes_source": "configured" if routes else "built-in",
            "routes_version": routes.version if routes else 0,
            "routes_updated_at": _ts(routes.updated_at) if routes else None,
            "routes_updated_by": routes.updated_by if routes else None,
            "gateways": gateways,
            "applied_at": _ts(self.registry.rules.loaded_at),
            "refresh_seconds": self.refresh_seconds,
        }

    # -- changing --------------------------------------------------------------------------------
    async def set_routes(self, principal: Principal, routes: Mapping[str, Sequence[str]] | None,
                         version: int | None = None) -> dict[str, Any]:
        """Replace the routing table (None: back to the built-in one). As in the built-in table, a
        gateway that is not configured here, or does not take the key's currency, is skipped when
        routing (so the same table serves every deployment)."""
        admin_only(principal)
        table = None if routes is None else self._checked_routes(routes)
        await self._save(principal, ROUTES, {"routes": table if table is not None else self.registry.default_routes()},
                         version)
        return await self.view(principal)

    def _checked_routes(self, routes: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        known, table = set(self.known()), {}
        for key, names in routes.items():
            key = key.upper()
            if not _ROUTE_KEY.match(key):
                raise InvalidValue(f"a route is keyed CUR or CUR:CC (a currency, and a country), not {key!r}",
                                   field=f"routes.{key}")
            currency = key[:3]
            try:
                exponent(currency)
            except UnknownCurrency:
                raise InvalidValue(f"unknown currency {currency}", field=f"routes.{key}") from None
            if not names or len(set(names)) != len(names):
                raise InvalidValue(f"the route for {key} names each gateway once, at least one",
                                   field=f"routes.{key}")
            for name in names:
                if name == SANDBOX:
                    raise InvalidValue("the sandbox is never routed to: it serves only currencies no real "
                                       "gateway takes", field=f"routes.{key}")
                if name not in known:  # one that does not take the currency is skipped when routing
                    raise InvalidValue(f"unknown gateway {name!r}", field=f"routes.{key}", known=sorted(known))
            table[key] = list(names)
        return table

    async def set_gateway(self, principal: Principal, name: str, *, enabled: bool | None = None,
                          limits: Mapping[str, Mapping[str, int | None]] | None = None,
                          version: int | None = None) -> dict[str, Any]:
        """Enable or disable ``name`` for new payments, and/or replace its per-currency limits."""
        admin_only(principal)
        if name not in self.known():
            raise NotFound(f"no gateway called {name!r}", known=self.known())
        if enabled and self.registry.get(name) is None:
            raise Conflict(f"{name} has no credentials in this deployment's environment; it cannot be enabled here",
                           reason=getattr(self.settings.get(name), "disabled_reason", None))
        current = await self.store.get(name)
        value = dict(current.value) if current else {"enabled": True, "limits": {}}
        if enabled is not None:
            value["enabled"] = enabled
        if limits is not None:
            value["limits"] = self._checked_limits(name, limits)
        await self._save(principal, name, value, version, current)
        return await self.view(principal)

    def _checked_limits(self, name: str, limits: Mapping[str, Mapping[str, int | None]]) -> dict[str, dict]:
        out = {}
        for currency, bounds in limits.items():
            currency = currency.upper()
            where = f"limits.{currency}"
            try:
                exponent(currency)
            except UnknownCurrency:
                raise InvalidValue(f"unknown currency {currency}", field=where) from None
            low, high = bounds.get("min"), bounds.get("max")
            for value in (low, high):
                if value is not None and (type(value) is not int or not 0 <= value <= MAX_AMOUNT):
                    raise InvalidValue(f"{where}: limits are whole minor units from 0 to {MAX_AMOUNT}", field=where)
            if low is not None and high is not None and low > high:
                raise InvalidValue(f"{where}: min is above max", field=where)
            out[currency] = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
        return out

    async def _save(self, principal: Principal, name: str, value: Mapping[str, Any], version: int | None,
                    current: ConfigEntry | None = None) -> None:
        current = current or await self.store.get(name)
        stored = current.version if current else 0
        if version is not None and version != stored:
            raise ConcurrencyConflict(f"the {name} configuration is at version {stored}, not {version}: reload it",
                                      version=stored)
        await self.store.save(ConfigEntry(name, dict(value), stored + 1, self.clock.now(), principal.id))
        if self.cache is not None:
            # here at once, elsewhere by broadcast; the legacy name for processes of the release before
            await self.cache.invalidate(cache_keys.payment_config(name), cache_keys.legacy_payment_config(name))
        await self.refresh()
        log.info("gateway configuration %s changed by %s (version %d)", name, principal.id, stored + 1)


class GatewayAnswers:
    """Records what a gateway answered about a payment (the registry's observer), for support:
    statuses, amounts and ids, error texts cleaned of personal data."""

    def __init__(self, log_: Any, clock: Clock) -> None:
        self.log, self.clock = log_, clock

    async def __call__(self, gateway: str, reference: str, operation: str, report: VerifiedPayment) -> None:
        await self.log.record(Verification(
            reference=reference, gateway=gateway, operation=operation, at=self.clock.now(), found=report.found,
            status=report.status.value, raw_status=(report.raw_status or "")[:200] or None, amount=report.amount,
            currency=report.currency, gateway_reference=report.gateway_reference,
            payment_method=report.payment_method, error=(redact_text(report.error) or "")[:500] or None))
