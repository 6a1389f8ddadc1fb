"""The payment gateway port, shared by the sandbox and every real gateway adapter."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

import attrs

from application.errors import GatewayError
from domain.payments import PaymentStatus, RefundStatus
from domain.webhooks import GatewayEvent


@attrs.frozen
class InitializePayment:
    """``reference`` is ours, derived from the caller's idempotency key: the gateway's dedup key.

    ``expires_at``: the hosted page must stop taking money no later than this (our intent's
    window). Each adapter sends what its gateway offers (Stripe ``expires_at``, within Stripe's
    30 min - 24 h; Flutterwave ``session_duration``); where the gateway has none, ``can_expire``
    and ``expire_payment`` say what the application can still do.

    ``items``: what is being paid, ``(name, quantity, line total in minor units)`` per line, for a
    gateway whose page shows it (the sandbox's).
    """

    reference: str
    amount: int
    currency: str
    email: str | None
    phone: str | None
    callback_url: str
    description: str
    metadata: Mapping[str, str] = attrs.field(factory=dict)
    expires_at: datetime | None = None
    items: tuple[tuple[str, int, int], ...] = ()


@attrs.frozen
class InitializedPayment:
    status: PaymentStatus
    gateway_reference: str | None
    authorization_url: str | None


@attrs.frozen
class VerifiedPayment:
    """What the gateway says now. ``amount`` in minor units (converted by the adapter).

    ``found=False``: the gateway has no payment under this reference (yet). That is an answer,
    not an error, and its ``status`` is never final: "not paid yet" while our window is open,
    "never paid" after it. (Stripe answers it when we hold no ``cs_`` id: an initialization whose
    answer was lost is found again by repeating ``initialize_payment`` with the same request.)
    ``payment_method``: how the customer paid, as the gateway reports it (``card``,
    ``bank_transfer``, ``mobile_money``, or the gateway's own word), when it does.
    """

    status: PaymentStatus
    amount: int | None
    currency: str | None
    gateway_reference: str | None
    raw_status: str
    error: str | None = None
    found: bool = True
    payment_method: str | None = None


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
    """The gateway's word on one refund. ``needs_attention``: the refund is stuck at the gateway
    until a person acts (Paystack ``needs-attention``: the customer's account details are needed;
    Stripe ``requires_action``); its ``status`` stays non-final and ``error`` says why.
    ``amount``: what the gateway holds for this refund (minor units), when it says."""

    status: RefundStatus
    gateway_refund_id: str | None
    error: str | None = None
    needs_attention: bool = False
    amount: int | None = None


@attrs.frozen
class RefundLookup:
    """Which refund to look up: ``refund_id`` is ours, ``reference``/``gateway_reference`` the
    payment's; ``gateway_refund_id`` when the gateway's answer reached us."""

    refund_id: str
    reference: str
    gateway_reference: str | None
    gateway_refund_id: str | None
    amount: int
    currency: str


def is_repeat_failure(exc: BaseException) -> bool:
    """True for an error a *repeat* of an earlier call gets while that earlier call may have been
    accepted (Stripe: 409 ``idempotency_key_in_use``, 400 ``idempotency_error``, and a refund
    refused as already refunded / larger than what is left once the key was pruned). Never settle
    anything failed from it: look the outcome up (``verify_payment`` / ``lookup_refund``)."""
    return isinstance(exc, GatewayError) and bool(exc.details.get("repeat_failure"))


def gateway_status_of(exc: BaseException) -> tuple[int | None, str | None]:
    """``(http_status, provider_code)`` of a gateway error (None, None for a transport error)."""
    details = exc.details if isinstance(exc, GatewayError) else {}
    return details.get("http_status"), details.get("provider_code")


class PaymentGateway(Protocol):
    """One payment provider. Amount/unit conversion and status mapping happen inside the adapter.

    ``initialize_payment`` is idempotent by ``reference``; ``verify_payment``, ``expire_payment``
    and ``lookup_refund`` are safe to repeat. Errors are ``GatewayError`` subclasses carrying
    ``details["http_status"]`` and ``details["provider_code"]`` (see ``is_repeat_failure``).
    """

    name: str
    currencies: frozenset[str]
    #: True when the webhook signature cannot be trusted alone (confirm via ``verify_payment``).
    weak_webhook_auth: bool
    #: True when ``refund`` is idempotent by our refund id (safe to call again after a timeout).
    idempotent_refunds: bool
    #: True when ``expire_payment`` really closes the hosted page at the gateway. False: nothing
    #: can close it, so a success may still arrive after our window (money to hold or refund).
    can_expire: bool
    #: False when ``verify_payment`` cannot find a payment by our reference alone (Stripe: a create
    #: whose answer was lost is found again only by repeating ``initialize_payment``, which the
    #: gateway's idempotency replays). Optional: True when absent.
    finds_by_reference: bool

    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment: ...
    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment: ...

    async def expire_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        """Close the payment page where the gateway can, then report the payment's status: a
        success that beat the expiry is reported (``SUCCEEDED``), never hidden; ``EXPIRED`` once
        the page is closed unpaid. Where ``can_expire`` is False: the verified status, read as
        "after our window" (a failed attempt on a link that has ended is ``FAILED``)."""
        ...

    async def refund(self, request: RefundPayment) -> RefundOutcome: ...

    async def lookup_refund(self, request: RefundLookup) -> RefundOutcome | None:
        """The refund's current status at the gateway, by gateway refund id or else by our refund
        id where the gateway echoes it; None when the gateway has no record of it."""
        ...

    def callback_gateway_reference(self, params: Mapping[str, str]) -> str | None:
        """The gateway's id for the payment from our callback URL's query (Stripe ``session_id``,
        Flutterwave ``transaction_id``), to verify with when we hold none; never trusted alone."""
        ...

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
