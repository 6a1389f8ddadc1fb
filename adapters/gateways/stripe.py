"""Stripe via hosted Checkout Sessions (form-encoded API, ``Stripe-Signature`` webhooks)."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp

from adapters.gateways.base import HttpClient, convert_amount, header, loads
from adapters.gateways.config import StripeSettings
from adapters.system import SystemClock
from application.errors import GatewayError
from application.ports.gateways import (InitializedPayment, InitializePayment, RefundOutcome,
                                        RefundPayment, VerifiedPayment)
from domain.money import Money, exponent
from domain.payments import PaymentStatus as P
from domain.payments import RefundStatus as R
from domain.webhooks import GatewayEvent

#: The one payment status table: Checkout Session ``(status, payment_status)``, PaymentIntent
#: ``("payment_intent", status)`` and webhook ``("event", type)`` keys (reference §6).
STATUSES: dict[tuple[str, str], P] = {
    ("open", "unpaid"): P.REQUIRES_ACTION,
    ("complete", "unpaid"): P.PROCESSING,  # async payment method still settling
    ("complete", "paid"): P.SUCCEEDED,
    ("complete", "no_payment_required"): P.SUCCEEDED,
    ("expired", "unpaid"): P.CANCELED,
    ("payment_intent", "requires_payment_method"): P.REQUIRES_ACTION,
    ("payment_intent", "requires_confirmation"): P.REQUIRES_ACTION,
    ("payment_intent", "requires_action"): P.REQUIRES_ACTION,
    ("payment_intent", "processing"): P.PROCESSING,
    ("payment_intent", "requires_capture"): P.PROCESSING,
    ("payment_intent", "succeeded"): P.SUCCEEDED,
    ("payment_intent", "canceled"): P.CANCELED,
    ("event", "checkout.session.async_payment_succeeded"): P.SUCCEEDED,
    ("event", "checkout.session.async_payment_failed"): P.FAILED,
    ("event", "checkout.session.expired"): P.CANCELED,
    ("event", "payment_intent.succeeded"): P.SUCCEEDED,
    # In hosted Checkout a declined attempt can be retried on the same page: not terminal.
    ("event", "payment_intent.payment_failed"): P.REQUIRES_ACTION,
    ("event", "payment_intent.processing"): P.PROCESSING,
    ("event", "payment_intent.canceled"): P.CANCELED,
}
REFUND_STATUSES: dict[str, R] = {
    "pending": R.PROCESSING, "requires_action": R.PROCESSING, "succeeded": R.SUCCEEDED,
    "failed": R.FAILED, "canceled": R.FAILED,
}
#: Where Stripe's unit differs from ISO-4217 (three-decimal rules are unconfirmed: none listed).
STRIPE_EXPONENTS: dict[str, int] = {}
REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


def to_stripe_amount(amount: int, currency: str) -> int:
    """Our minor units -> Stripe's smallest unit (exact)."""
    major = Money(amount, currency).to_major()
    return int(major.scaleb(STRIPE_EXPONENTS.get(currency, exponent(currency))))


def from_stripe_amount(value: int, currency: str) -> int:
    """Stripe's smallest unit -> our minor units (exact)."""
    major = Decimal(int(value)).scaleb(-STRIPE_EXPONENTS.get(currency, exponent(currency)))
    return Money.from_major(major, currency).amount


def _with_query(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


class StripeGateway:
    """Stripe Checkout: the customer pays on Stripe's page; ``gateway_reference`` is the ``cs_`` id."""

    name = "stripe"
    weak_webhook_auth = False
    idempotent_refunds = True  # Idempotency-Key: <refund_id>

    def __init__(self, session: aiohttp.ClientSession, settings: StripeSettings,
                 metrics: Any = None, clock: Any = None) -> None:
        self.settings = settings
        self.currencies = settings.currencies
        self.clock = clock or SystemClock()
        self.http = HttpClient(session, self.name, settings.base_url, settings.timeouts,
                               secrets=(settings.secret_key, settings.webhook_secret),
                               metrics=metrics, clock=self.clock)

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.settings.secret_key}",
             "Stripe-Version": self.settings.api_version}
        if idempotency_key:
            h["Idempotency-Key"] = idempotency_key
        return h

    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment:
        ref = request.reference
        back = _with_query(request.callback_url, urlencode({"reference": ref}))
        form = {
            "mode": "payment",
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": request.currency.lower(),
            "line_items[0][price_data][unit_amount]": str(to_stripe_amount(request.amount, request.currency)),
            "line_items[0][price_data][product_data][name]": request.description or ref,
            "success_url": back + "&session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": back + "&status=cancelled",
            "client_reference_id": ref,
            "metadata[reference]": ref,
            "payment_intent_data[metadata][reference]": ref,
        }
        for key, value in request.metadata.items():
            if key != "reference":
                form[f"metadata[{key}]"] = str(value)
        if request.email:
            form["customer_email"] = request.email
        resp = await self.http.request("initialize", "POST", "/v1/checkout/sessions",
                                       headers=self._headers(ref), form=form)
        session = resp.body or {}
        if not session.get("id") or not session.get("url"):
            raise GatewayError("stripe: checkout session without id/url", gateway=self.name)
        return InitializedPayment(self._session_status(session), session["id"], session["url"])

    def _session_status(self, session: Mapping[str, Any]) -> P:
        intent = session.get("payment_intent")
        if session.get("status") == "complete" and isinstance(intent, dict):
            if intent.get("status") == "requires_payment_method" and intent.get("last_payment_error"):
                return P.FAILED  # an async method failed after the session completed
            if intent.get("status") == "canceled":
                return P.CANCELED
        key = (session.get("status", ""), session.get("payment_status", ""))
        return STATUSES.get(key, P.CANCELED if key[0] == "expired" else P.PROCESSING)

    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        if not gateway_reference or not gateway_reference.startswith("cs_"):
            raise GatewayError("stripe: verifying needs the checkout session id (cs_...)",
                               gateway=self.name)
        resp = await self.http.request("verify", "GET", f"/v1/checkout/sessions/{gateway_reference}",
                                       headers=self._headers(), params={"expand[]": "payment_intent"})
        s = resp.body or {}
        if s.get("client_reference_id") not in (None, reference):
            raise GatewayError("stripe: session belongs to another reference", gateway=self.name)
        currency = (s.get("currency") or "").upper() or None
        amount = s.get("amount_total")
        intent = s.get("payment_intent") if isinstance(s.get("payment_intent"), dict) else {}
        error = (intent.get("last_payment_error") or {}).get("message")
        return VerifiedPayment(
            status=self._session_status(s),
            amount=convert_amount(from_stripe_amount, amount, currency),
            currency=currency, gateway_reference=s.get("id"),
            raw_status=f"{s.get('status')}/{s.get('payment_status')}", error=error)

    async def _payment_intent_id(self, gateway_reference: str | None) -> str:
        if gateway_reference and gateway_reference.startswith("pi_"):
            return gateway_reference
        if not gateway_reference:
            raise GatewayError("stripe: refund needs the checkout session id", gateway=self.name)
        resp = await self.http.request("refund_lookup", "GET",
                                       f"/v1/checkout/sessions/{gateway_reference}",
                                       headers=self._headers())
        intent = (resp.body or {}).get("payment_intent")
        intent = intent.get("id") if isinstance(intent, dict) else intent
        if not intent:
            raise GatewayError("stripe: the session has no payment to refund", gateway=self.name)
        return intent

    async def refund(self, request: RefundPayment) -> RefundOutcome:
        form = {"payment_intent": await self._payment_intent_id(request.gateway_reference),
                "amount": str(to_stripe_amount(request.amount, request.currency)),
                "metadata[refund_id]": request.refund_id, "metadata[reference]": request.reference}
        if request.reason in REFUND_REASONS:
            form["reason"] = request.reason
        elif request.reason:
            form["metadata[reason]"] = request.reason[:500]
        resp = await self.http.request("refund", "POST", "/v1/refunds",
                                       headers=self._headers(request.refund_id), form=form)
        body = resp.body or {}
        status = REFUND_STATUSES.get(body.get("status", ""), R.PROCESSING)
        return RefundOutcome(status, body.get("id"), body.get("failure_reason"))

    def verify_webhook_signature(self, headers: Mapping[str, str], body: bytes,
                                 params: Mapping[str, str]) -> bool:
        secret = self.settings.webhook_secret
        value = header(headers, "Stripe-Signature")
        if not secret or not value:
            return False
        timestamp, signatures = None, []
        for item in value.split(","):
            key, _, val = item.strip().partition("=")
            if key == "t":
                timestamp = val
            elif key == "v1":
                signatures.append(val)
        if not timestamp or not timestamp.isdigit() or not signatures:
            return False
        if int(timestamp) < self.clock.now().timestamp() - self.settings.webhook_tolerance:
            return False
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return any(hmac.compare_digest(expected.encode(), s.encode()) for s in signatures)

    def parse_webhook_event(self, headers: Mapping[str, str], body: bytes,
                            params: Mapping[str, str]) -> GatewayEvent:
        try:
            event = loads(body)
            event_id, kind, obj = event["id"], event["type"], event["data"]["object"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"unparseable stripe event: {type(exc).__name__}") from None
        meta = obj.get("metadata") or {}
        currency = (obj.get("currency") or "").upper() or None
        if kind.startswith("checkout.session."):
            status = STATUSES.get(("event", kind)) or self._session_status(obj)
            return GatewayEvent(event_id, kind, obj.get("client_reference_id") or meta.get("reference"),
                                obj.get("id"), status, self._amount(obj.get("amount_total"), currency),
                                currency)
        if kind.startswith("payment_intent."):
            return GatewayEvent(event_id, kind, meta.get("reference"), None,
                                STATUSES.get(("event", kind)),
                                self._amount(obj.get("amount"), currency), currency)
        if kind.startswith("refund.") or kind == "charge.refunded":
            refund = obj
            if kind == "charge.refunded":
                refunds = (obj.get("refunds") or {}).get("data") or []
                refund = refunds[0] if refunds else {}
            refund_meta = refund.get("metadata") or {}
            return GatewayEvent(
                event_id, kind, refund_meta.get("reference") or meta.get("reference"), None, None,
                self._amount(refund.get("amount"), currency), currency,
                refund_status=REFUND_STATUSES.get(refund.get("status", "")),
                refund_id=refund_meta.get("refund_id"), gateway_refund_id=refund.get("id"))
        return GatewayEvent(event_id, kind, meta.get("reference"))

    @staticmethod
    def _amount(value: Any, currency: str | None) -> int | None:
        try:
            return convert_amount(from_stripe_amount, value, currency)
        except GatewayError as exc:
            raise ValueError(exc.message) from None
