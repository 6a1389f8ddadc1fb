"""Ports of the back office: the admin lists and reports, the analytics aggregates, the fraud rules'
record of attempts, the gateway configuration kept in the database, and what gateways answered."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Protocol

import attrs

from application.ports.repositories import Page
from domain.payments import PaymentIntent
from domain.webhooks import WebhookEvent


@attrs.frozen
class AdminFilters:
    """What the admin lists filter on (None: no filter). ``created_from`` inclusive, ``created_to``
    exclusive; ``email`` is the customer's (any case); ``order_number`` exact."""

    status: str | None = None
    gateway: str | None = None
    currency: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    email: str | None = None
    order_number: str | None = None
    #: refunds only: those flagged for a person
    needs_attention: bool | None = None


@attrs.frozen
class Verification:
    """A gateway's answer when asked about a payment (``verify``: a status query; ``expire``: its
    page closed), as recorded for support: statuses, amounts and ids only."""

    reference: str
    gateway: str
    operation: str
    at: datetime
    found: bool
    status: str
    raw_status: str | None
    amount: int | None
    currency: str | None
    gateway_reference: str | None
    payment_method: str | None
    error: str | None


class AdminReports(Protocol):
    """Everyone's orders, payments and refunds with the admin filters (newest first, keyset cursors
    as the read model's): the back office's search, never cached.

    May be served by a read replica (``DATABASE_REPLICA_URL``), so it may lag the primary by the
    replica's lag: nothing that decides about money, reads back what its caller just wrote, or fills
    a cache reads through this port (those use ``AdminReadModel`` or a unit of work)."""

    async def list_orders(self, filters: AdminFilters, *, limit: int, cursor: str | None) -> Page: ...
    async def list_payments(self, filters: AdminFilters, *, limit: int, cursor: str | None) -> Page: ...
    async def list_refunds(self, filters: AdminFilters, *, limit: int, cursor: str | None) -> Page: ...


class AdminReadModel(Protocol):
    """On the primary: the failed webhooks and the fraud review queue (oldest first), which a person
    acts on and reads again, and what support looks at for one payment."""

    async def failed_webhooks(self, *, limit: int, cursor: str | None) -> Page: ...
    async def held_payments(self, *, limit: int, cursor: str | None) -> Page: ...
    async def payments_of(self, order_id: str) -> list[PaymentIntent]:
        """Every payment of one order, newest first."""
        ...
    async def webhooks_for(self, reference: str, limit: int = 50) -> list[WebhookEvent]:
        """Inbox rows naming the payment ``reference``, newest first."""
        ...
    async def verifications(self, reference: str, limit: int = 20) -> list[Verification]:
        """What the payment's gateway answered when asked, newest first."""
        ...


@attrs.frozen
class AnalyticsRows:
    """Aggregates over [start, end), amounts in minor units of each row's own currency.

    ``captured``: (day, currency, gateway, amount, count) of successful payment ledger rows by the
    day they were processed; ``refunded``: (day, currency, gateway, amount, count) of successful
    refund rows; ``outcomes``: intents created in the range by status; ``orders``: orders placed in
    the range by status; ``paid_orders``: (currency, count, sum of totals) of orders placed in the
    range that were paid (their status is paid or after it); ``products``: (sku, name, currency,
    quantity, revenue) over those orders' items, the largest revenue first, at most ``top``."""

    captured: list[tuple[date, str, str, int, int]]
    refunded: list[tuple[date, str, str, int, int]]
    outcomes: Mapping[str, int]
    orders: Mapping[str, int]
    paid_orders: list[tuple[str, int, int]]
    products: list[tuple[str, str, str, int, int]]


class AnalyticsQueries(Protocol):
    """SQL aggregates on Postgres (served by indexes), the same sums over the tables in memory.

    May be served by a read replica: the summary built from them is cached for its TTL but never
    invalidated by a write (it says when it was computed), so a lagging replica adds its lag to
    that bound and undoes no invalidation."""

    async def rows(self, start: datetime, end: datetime, top: int = 10) -> AnalyticsRows: ...


@attrs.frozen
class FraudAttempt:
    """One payment attempt as the fraud rules saw it, and what they decided."""

    id: str
    at: datetime
    user_id: str
    amount: int
    currency: str
    outcome: str
    reasons: tuple[str, ...] = ()
    reference: str | None = None
    order_id: str | None = None
    email: str | None = None
    client_ip: str | None = None
    guest_id: str | None = None
    country: str | None = None


class FraudSignals(Protocol):
    """The attempts the rules counted. ``attempts``/``declines`` count, for each ``(by, key)`` given
    (``by``: user, email, ip or guest), the attempts recorded since ``since`` and, among them, those
    whose payment failed; e-mails compare in any case. Written outside the caller's transaction."""

    async def record(self, attempt: FraudAttempt) -> None: ...
    async def counts(self, keys: Mapping[str, str], since: Mapping[str, datetime]) -> dict[str, tuple[int, int]]:
        """``by -> (attempts since since[by], declined among them)`` for each ``keys[by]``."""
        ...
    async def reap(self, older_than: datetime) -> int: ...


@attrs.frozen
class ConfigEntry:
    """One stored piece of gateway configuration: a gateway's (``name`` the gateway) or the routing
    table (``name`` ``routes``). ``version`` counts saves (optimistic: a save from a stale read fails)."""

    name: str
    value: Mapping[str, Any]
    version: int
    updated_at: datetime
    updated_by: str


class PaymentConfigStore(Protocol):
    """Gateway configuration in the database. ``save`` writes ``entry`` if the stored version is
    ``entry.version - 1`` (or none is stored and it is 1), else raises ConcurrencyConflict."""

    async def get(self, name: str) -> ConfigEntry | None: ...
    async def save(self, entry: ConfigEntry) -> None: ...


class VerificationLog(Protocol):
    """Appends what a gateway answered (``Verification``); never raises for the caller to handle."""

    async def record(self, verification: Verification) -> None: ...


@attrs.frozen
class GatewayRules:
    """The gateway configuration a registry applies, as of its last refresh: the routing table
    (None: the built-in one), the gateways an admin disabled, and per-gateway, per-currency amount
    limits ``(min, max)`` in minor units (None: no bound). Read on every route: plain data only."""

    routes: Mapping[str, tuple[str, ...]] | None = None
    disabled: frozenset[str] = frozenset()
    limits: Mapping[str, Mapping[str, tuple[int | None, int | None]]] = attrs.field(factory=dict)
    #: when it was read (for the admin view); None: never (the built-in configuration)
    loaded_at: datetime | None = None

    def refusal(self, gateway: str, amount: int, currency: str) -> str | None:
        """Why ``gateway`` may not start a payment of ``amount`` ``currency`` now (None: it may)."""
        if gateway in self.disabled:
            return f"{gateway} is disabled by an administrator"
        low, high = self.limits.get(gateway, {}).get(currency, (None, None))
        if low is not None and amount < low:
            return f"{gateway} takes {currency} payments of at least {low}"
        if high is not None and amount > high:
            return f"{gateway} takes {currency} payments of at most {high}"
        return None


class ConfigurableRegistry(Protocol):
    """A gateway registry whose configuration changes at run time (``configure`` swaps it in one
    assignment; ``route``/``get`` read it without I/O), and which reports what gateways answered
    when asked about a payment (``observe``)."""

    rules: GatewayRules

    def configure(self, rules: GatewayRules) -> None: ...
    def observe(self, record: Any) -> None: ...
    def default_routes(self) -> Mapping[str, list[str]]: ...
    def names(self) -> list[str]: ...
    def get(self, name: str) -> Any: ...
