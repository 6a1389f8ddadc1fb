"""The payment gateway port, shared by the sandbox and every real gateway adapter."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import attrs

from domain.payments import PaymentStatus, RefundStatus
from domain.webhooks import GatewayEvent


@attrs.frozen
class InitializePayment:
    """``reference`` is ours, derived from the caller's idempotency key: the gateway's dedup key."""

    reference: str
    amount: int
    currency: str
    email: str | None
    phone: str | None
    callback_url: str
    description: str
    metadata: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class InitializedPayment:
    status: PaymentStatus
    gateway_reference: str | None
    authorization_url: str | None


@attrs.frozen
class VerifiedPayment:
    """What the gateway says now. ``amount`` in minor units (converted by the adapter)."""

    status: PaymentStatus
    amount: int | None
    currency: str | None
    gateway_reference: str | None
    raw_status: str
    error: str | None = None


@attrs.frozen
class RefundPayment:
    refund_id: str
    reference: str
    gateway_reference: str | None
    amount: int
    currency: str
    reason: str


@attrs.frozen
class RefundOutcome:
    status: RefundStatus
    gateway_refund_id: str | None
    error: str | None = None


class PaymentGateway(Protocol):
    """One payment provider. Amount/unit conversion and status mapping happen inside the adapter.

    ``initialize_payment`` is idempotent by ``reference``; ``verify_payment`` is safe to repeat.
    """

    name: str
    currencies: frozenset[str]
    #: True when the webhook signature cannot be trusted alone (confirm via ``verify_payment``).
    weak_webhook_auth: bool
    #: True when ``refund`` is idempotent by our refund id (safe to call again after a timeout).
    idempotent_refunds: bool

    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment: ...
    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment: ...
    async def refund(self, request: RefundPayment) -> RefundOutcome: ...
    def verify_webhook_signature(self, headers: Mapping[str, str], body: bytes,
                                 params: Mapping[str, str]) -> bool:
        """Check the signature over the exact raw ``body`` (constant-time). ``params``: the query
        string of the webhook URL (MoMo puts our reference there)."""
        ...

    def parse_webhook_event(self, headers: Mapping[str, str], body: bytes,
                            params: Mapping[str, str]) -> GatewayEvent:
        """Our event for a verified payload; raises ValueError for one it cannot parse."""
        ...


class GatewayRegistry(Protocol):
    """The enabled gateways, and the order to try them in for a currency and country."""

    def get(self, name: str) -> PaymentGateway | None: ...
    def route(self, currency: str, country: str | None) -> list[str]: ...
    def names(self) -> list[str]: ...
