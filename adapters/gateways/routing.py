"""Which gateways serve a currency/country, and in what order (failover itself is the use case's)."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from adapters.gateways.config import GatewaySettings
from adapters.gateways.flutterwave import FlutterwaveGateway
from adapters.gateways.mtn_momo import MtnMomoGateway
from adapters.gateways.paystack import PaystackGateway
from adapters.gateways.resilience import CircuitBreaker, ResilientGateway, RetryPolicy
from adapters.gateways.stripe import StripeGateway
from application.errors import DependencyUnavailable, GatewayUnavailable
from domain.errors import Kind
from application.ports.backoffice import GatewayRules
from application.ports.gateways import InitializedPayment, InitializePayment, PaymentGateway, VerifiedPayment

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
#: told what a gateway answered about a payment: (gateway, our reference, "verify" | "expire", the answer)
Observer = Callable[[str, str, str, VerifiedPayment], Awaitable[None]]


class GatewayNotOffered(GatewayUnavailable):
    """The live configuration does not offer this gateway for this payment (an admin disabled it,
    or the amount is outside its limits): nothing was sent, so the next gateway may be tried."""

    code = "gateway_not_offered"
    kind = Kind.CONFLICT
    title = "No gateway takes this payment"


class StaticGatewayRegistry:
    """``GatewayRegistry`` over a fixed set of (enabled) gateways and a route table, with the
    configuration an admin changes at run time applied on top (``configure``: a snapshot swapped
    in one assignment, read without I/O): a routing table replacing the built-in one, gateways
    disabled for new payments, per-currency amount limits.

    With ``guard``, ``get`` hands out each gateway behind ``GuardedGateway``: a start refused by
    the configuration (disabled, outside its limits) raises ``GatewayNotOffered`` before any call,
    so the initiation fails over to the next gateway of the route as for any gateway that did
    nothing; everything else (settling, refunds, webhooks of the payments it already has) goes on.
    """

    def __init__(self, gateways: Mapping[str, PaymentGateway],
                 routes: Mapping[str, list[str]] | None = None, *, guard: bool = False) -> None:
        self._gateways = {n: g for n, g in gateways.items() if getattr(g, "enabled", True)}
        self._routes = {k.upper(): list(v) for k, v in (routes or DEFAULT_ROUTES).items()}
        self._defaults = self._routes
        self.rules = GatewayRules()
        self._guarded = {n: GuardedGateway(g, self) for n, g in self._gateways.items()} if guard else None
        self._observer: Observer | None = None

    def configure(self, rules: GatewayRules) -> None:
        """Apply ``rules`` (the live configuration) from now on."""
        self._routes = ({k.upper(): list(v) for k, v in rules.routes.items()} if rules.routes is not None
                        else self._defaults)
        self.rules = rules

    def default_routes(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self._defaults.items()}

    def routes(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self._routes.items()}

    def observe(self, record: Observer | None) -> None:
        """Report every verified gateway answer about a payment to ``record`` (guarded gateways only)."""
        self._observer = record

    def get(self, name: str) -> PaymentGateway | None:
        if self._guarded is not None:
            return self._guarded.get(name)
        return self._gateways.get(name)

    def names(self) -> list[str]:
        return list(self._gateways)

    def route(self, currency: str, country: str | None) -> list[str]:
        """The configured order for ``currency`` (a ``"CUR:CC"`` key wins), keeping only registered
        gateways that take the currency. The sandbox (if registered) serves only currencies no real
        gateway takes: a real payment must never fail over into a gateway where no money moves."""
        currency = currency.upper()
        key = f"{currency}:{country.upper()}" if country else None
        routes, disabled = self._routes, self.rules.disabled
        order = routes.get(key) if key in routes else routes.get(currency, [])
        chosen = [n for n in dict.fromkeys(order) if n != SANDBOX and n in self._gateways and n not in disabled
                  and currency in self._gateways[n].currencies]
        if not chosen and SANDBOX in self._gateways and SANDBOX not in disabled:
            chosen.append(SANDBOX)
        return chosen


class GuardedGateway:
    """A gateway as the registry hands it out: the live configuration may refuse to start a payment
    there (``GatewayNotOffered``, before any call), and what it answers about a payment is
    reported to the registry's observer. Everything else is the gateway's own (attributes too)."""

    def __init__(self, inner: PaymentGateway, registry: StaticGatewayRegistry) -> None:
        self.inner, self._registry = inner, registry

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment:
        why = self._registry.rules.refusal(self.inner.name, request.amount, request.currency)
        if why is not None:
            raise GatewayNotOffered(why, gateway=self.inner.name)
        return await self.inner.initialize_payment(request)

    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        report = await self.inner.verify_payment(reference, gateway_reference)
        await self._report(reference, "verify", report)
        return report

    async def expire_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        report = await self.inner.expire_payment(reference, gateway_reference)
        await self._report(reference, "expire", report)
        return report

    async def _report(self, reference: str, operation: str, report: VerifiedPayment) -> None:
        record = self._registry._observer
        if record is None:
            return
        try:
            await record(self.inner.name, reference, operation, report)
        except DependencyUnavailable:  # the database is down: its tracker logs the outage once
            pass
        except Exception:  # noqa: BLE001 - a support record never costs a payment its answer
            log.warning("could not record what %s said about %s", self.inner.name, reference, exc_info=True)


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
                   routes: Mapping[str, list[str]] | None = None, guard: bool = False,
                   **options: Any) -> StaticGatewayRegistry:
    """Registry of the enabled real gateways plus ``extra`` ones (e.g. ``{"sandbox": sandbox}``);
    ``guard``: the live configuration is enforced on what ``get`` hands out (the service's)."""
    gateways = build_gateways(session, settings, **options)
    gateways.update(extra or {})
    return StaticGatewayRegistry(gateways, routes, guard=guard)
