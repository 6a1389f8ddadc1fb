"""Stripe via hosted Checkout Sessions (form-encoded API, ``Stripe-Signature`` webhooks).

The session carries ``expires_at`` (our window; Stripe takes 30 min to 24 h) and is expired at
Stripe when we expire; refunds carry our refund id in their metadata and as Idempotency-Key.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import attrs

from adapters.gateways.base import (GatewayResponse, HttpClient, convert_amount, error_type, header, loads,
                                    payment_method_name)
from adapters.gateways.config import StripeSettings
from adapters.system import SystemClock
from application.errors import GatewayError
from application.ports.gateways import (InitializedPayment, InitializePayment, RefundLookup, RefundOutcome,
                                        RefundPayment, VerifiedPayment)
from domain.errors import DomainError, InvalidValue
from domain.money import Money, exponent
from domain.payments import PaymentStatus as P
from domain.payments import RefundStatus as R
from domain.webhooks import GatewayEvent

log = logging.getLogger("payport.gateways.stripe")

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
#: Where Stripe's unit differs from ISO-4217: ISK is zero-decimal in ISO but two-decimal at Stripe
#: (amounts in multiples of 100). HUF and TWD are two-decimal for charges (their zero-decimal rule
#: applies to payouts only, which payport does not make).
STRIPE_EXPONENTS: dict[str, int] = {"ISK": 2}
#: Three-decimal currencies: sent in thousandths, the last digit must be 0 (never rounded here).
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})
#: A Checkout Session's ``expires_at`` must lie 30 min to 24 h after its creation.
MIN_EXPIRY, MAX_EXPIRY, EXPIRY_MARGIN = timedelta(minutes=30), timedelta(hours=24), timedelta(minutes=1)


def to_stripe_amount(amount: int, currency: str) -> int:
    """Our minor units -> Stripe's smallest unit (exact); refuses what Stripe cannot take."""
    major = Money(amount, currency).to_major()
    value = int(major.scaleb(STRIPE_EXPONENTS.get(currency, exponent(currency))))
    if currency in THREE_DECIMAL and value % 10:
        raise InvalidValue(f"Stripe takes {currency} amounts with a last digit of 0 only "
                           f"({major} {currency} is not)", value=str(major), currency=currency)
    return value


def from_stripe_amount(value: int, currency: str) -> int:
    """Stripe's smallest unit -> our minor units (exact)."""
    major = Decimal(int(value)).scaleb(-STRIPE_EXPONENTS.get(currency, exponent(currency)))
    return Money.from_major(major, currency).amount


def expiry_candidates(expires_at: datetime | None, now: datetime) -> list[int]:
    """The ``expires_at`` values (unix seconds) to try, in order.

    Our window's end when Stripe takes it (capped at 24 h); when it is under Stripe's 30 min
    minimum from now, the same value first (a replay must send what the first call sent, or
    Stripe answers ``idempotency_error``; a new session refuses it, storing nothing), then 31 min
    later than our window's end. Both depend only on ``expires_at``, so a replay finds the session
    whichever one created it (a window above 24 h depends on ``now``: keep windows under that)."""
    if expires_at is None:
        return []
    at = min(expires_at, now + MAX_EXPIRY - EXPIRY_MARGIN)
    if at >= now + MIN_EXPIRY + EXPIRY_MARGIN:
        return [int(at.timestamp())]
    later = min(at + MIN_EXPIRY + EXPIRY_MARGIN, now + MAX_EXPIRY - EXPIRY_MARGIN)
    return [int(at.timestamp()), int(later.timestamp())]


def _with_query(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


class StripeGateway:
    """Stripe Checkout: the customer pays on Stripe's page; ``gateway_reference`` is the ``cs_`` id.

    Every create carries an Idempotency-Key (our payment reference, our refund id), so a create
    whose answer was lost is recovered by sending it again: Stripe replays its first answer.
    """

    name = "stripe"
    weak_webhook_auth = False
    idempotent_refunds = True  # Idempotency-Key: <refund_id>, and metadata[refund_id] looked up first
    can_expire = True  # POST /v1/checkout/sessions/{id}/expire
    #: Stripe cannot find a session by our reference: a lost create is found by replaying it
    finds_by_reference = False

    def __init__(self, session: aiohttp.ClientSession, settings: StripeSettings,
                 metrics: Any = None, clock: Any = None) -> None:
        self.settings = settings
        self.currencies = settings.currencies
        self.clock = clock or SystemClock()
        self.http = HttpClient(session, self.name, settings.base_url, settings.timeouts,
                               secrets=(settings.secret_key, settings.webhook_secret),
                               metrics=metrics, clock=self.clock, repeat_failure=self._repeat_failure)

    def _repeat_failure(self, resp: GatewayResponse) -> bool:
        """409 (the key is in use by a concurrent request), ``idempotency_error`` (the key was used
        with other parameters) and the refund refusals a pruned key turns a repeat into."""
        error = (resp.body or {}).get("error") if isinstance(resp.body, dict) else None
        error = error if isinstance(error, dict) else {}
        return (resp.status == 409 or error_type(resp.body) == "idempotency_error"
                or error.get("code") in self.settings.repeat_failure_codes)

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.settings.secret_key}",
             "Stripe-Version": self.settings.api_version}
        if idempotency_key:
            h["Idempotency-Key"] = idempotency_key
        return h

    def _amount_out(self, amount: int, currency: str) -> int:
        try:
            return to_stripe_amount(amount, currency)
        except DomainError as exc:
            raise GatewayError(f"stripe: {exc.message}", gateway=self.name) from None

    # -- payments ----------------------------------------------------------------------------------
    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment:
        ref = request.reference
        back = _with_query(request.callback_url, urlencode({"reference": ref}))
        form = {
            "mode": "payment",
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": request.currency.lower(),
            "line_items[0][price_data][unit_amount]": str(self._amount_out(request.amount, request.currency)),
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
        candidates: list[int | None] = [*expiry_candidates(request.expires_at, self.clock.now())] or [None]
        for n, expires_at in enumerate(candidates):
            if expires_at is not None:
                form["expires_at"] = str(expires_at)
            try:
                resp = await self.http.request("initialize", "POST", "/v1/checkout/sessions",
                                               headers=self._headers(ref), form=form)
                break
            except GatewayError as exc:
                if n + 1 == len(candidates) or not _expiry_refused(exc):
                    raise
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

    def callback_gateway_reference(self, params: Mapping[str, str]) -> str | None:
        """The ``session_id`` Stripe puts on our success URL (``{CHECKOUT_SESSION_ID}``)."""
        session_id = params.get("session_id") or ""
        return session_id if session_id.startswith("cs_") else None

    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        if not gateway_reference or not gateway_reference.startswith("cs_"):
            return _not_found("no checkout session id (cs_...) known: repeating the initialization "
                              "with the same request returns the session")
        resp = await self.http.request("verify", "GET", f"/v1/checkout/sessions/{gateway_reference}",
                                       headers=self._headers(), params=VERIFY_EXPAND, accept=(404,))
        if resp.status == 404:
            return _not_found(f"stripe has no checkout session {gateway_reference}")
        return self._verified(reference, resp.body or {})

    def _verified(self, reference: str, s: Mapping[str, Any]) -> VerifiedPayment:
        if s.get("client_reference_id") not in (None, reference):
            raise GatewayError("stripe: session belongs to another reference", gateway=self.name)
        currency = (s.get("currency") or "").upper() or None
        intent = s.get("payment_intent") if isinstance(s.get("payment_intent"), dict) else {}
        error = (intent.get("last_payment_error") or {}).get("message")
        method = intent.get("payment_method") if isinstance(intent.get("payment_method"), dict) else {}
        return VerifiedPayment(
            status=self._session_status(s),
            amount=convert_amount(from_stripe_amount, s.get("amount_total"), currency),
            currency=currency, gateway_reference=s.get("id"),
            raw_status=f"{s.get('status')}/{s.get('payment_status')}", error=error,
            payment_method=payment_method_name(method.get("type")))

    async def expire_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        """Expire the session; one already ``complete`` cannot be, and its status is reported."""
        if not gateway_reference or not gateway_reference.startswith("cs_"):
            return await self.verify_payment(reference, gateway_reference)
        resp = await self.http.request("expire", "POST", f"/v1/checkout/sessions/{gateway_reference}/expire",
                                       headers=self._headers(), accept=(400, 404))
        if resp.status == 404:
            return _not_found(f"stripe has no checkout session {gateway_reference}")
        # 400: the session is no longer open (complete, or expired already): read what it is
        current = (self._verified(reference, resp.body or {}) if resp.status < 400
                   else await self.verify_payment(reference, gateway_reference))
        if current.raw_status.startswith("expired/") and current.status is P.CANCELED:
            return attrs.evolve(current, status=P.EXPIRED)
        return current

    # -- refunds -----------------------------------------------------------------------------------
    async def _payment_intent_id(self, gateway_reference: str | None) -> str | None:
        """The session's PaymentIntent (None: nothing was paid on it)."""
        if gateway_reference and gateway_reference.startswith("pi_"):
            return gateway_reference
        if not gateway_reference:
            raise GatewayError("stripe: refund needs the checkout session id", gateway=self.name)
        resp = await self.http.request("refund_lookup", "GET",
                                       f"/v1/checkout/sessions/{gateway_reference}",
                                       headers=self._headers(), accept=(404,))
        intent = (resp.body or {}).get("payment_intent") if resp.status == 200 else None
        return intent.get("id") if isinstance(intent, dict) else intent

    async def _find_refund(self, payment_intent: str, refund_id: str) -> Mapping[str, Any] | None:
        """Our refund among the PaymentIntent's, by ``metadata[refund_id]`` (newest first)."""
        params = {"payment_intent": payment_intent, "limit": "100"}
        for _ in range(self.settings.refund_list_pages):
            page = (await self.http.request("refund_list", "GET", "/v1/refunds", headers=self._headers(),
                                            params=params)).body or {}
            refunds = page.get("data") or []
            for refund in refunds:
                if (refund.get("metadata") or {}).get("refund_id") == refund_id:
                    return refund
            if not page.get("has_more") or not refunds:
                return None
            params = {**params, "starting_after": refunds[-1]["id"]}
        log.warning("stripe: refund %s not in the first %s pages of %s", refund_id,
                    self.settings.refund_list_pages, payment_intent)
        return None

    async def refund(self, request: RefundPayment) -> RefundOutcome:
        """One refund per refund id, ever: an existing one (our id in its metadata) is reported
        rather than created again, since Stripe forgets an idempotency key after 24 h."""
        intent = await self._payment_intent_id(request.gateway_reference)
        if not intent:
            raise GatewayError("stripe: the session has no payment to refund", gateway=self.name)
        existing = await self._find_refund(intent, request.refund_id)
        if existing is not None:
            return self._refund_outcome(existing)
        form = {"payment_intent": intent,
                "amount": str(self._amount_out(request.amount, request.currency)),
                "metadata[refund_id]": request.refund_id, "metadata[reference]": request.reference}
        if request.reason in REFUND_REASONS:
            form["reason"] = request.reason
        elif request.reason:
            form["metadata[reason]"] = request.reason[:500]
        resp = await self.http.request("refund", "POST", "/v1/refunds",
                                       headers=self._headers(request.refund_id), form=form)
        return self._refund_outcome(resp.body or {})

    async def lookup_refund(self, request: RefundLookup) -> RefundOutcome | None:
        """``GET /v1/refunds/{re_}``, else our id in the metadata of the payment's refunds."""
        if request.gateway_refund_id and request.gateway_refund_id.startswith("re_"):
            resp = await self.http.request("refund_status", "GET", f"/v1/refunds/{request.gateway_refund_id}",
                                           headers=self._headers(), accept=(404,))
            if resp.status == 404:
                return None
            refund = resp.body or {}
            if (refund.get("metadata") or {}).get("refund_id") not in (None, request.refund_id):
                raise GatewayError("stripe: refund belongs to another refund id", gateway=self.name)
            return self._refund_outcome(refund)
        if not request.gateway_reference:
            return None
        intent = await self._payment_intent_id(request.gateway_reference)
        found = await self._find_refund(intent, request.refund_id) if intent else None
        return self._refund_outcome(found) if found is not None else None

    def _refund_outcome(self, refund: Mapping[str, Any]) -> RefundOutcome:
        raw = str(refund.get("status", ""))
        currency = (refund.get("currency") or "").upper() or None
        try:
            amount = convert_amount(from_stripe_amount, refund.get("amount"), currency)
        except GatewayError:
            amount = None
        return RefundOutcome(REFUND_STATUSES.get(raw, R.PROCESSING), refund.get("id"),
                             refund.get("failure_reason") or refund.get("pending_reason") or None,
                             needs_attention=raw == "requires_action", amount=amount)

    # -- webhooks ----------------------------------------------------------------------------------
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
        """Payment events, and refund events of both webhook-endpoint API versions: ``refund.created|
        updated|failed`` (card refunds from 2024-10-28.acacia), ``charge.refund.updated`` (before),
        and ``charge.refunded`` (whose ``refunds`` list is gone since 2022-11-15: ``refund_lookup``)."""
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
            error = (obj.get("last_payment_error") or {}).get("message")
            return GatewayEvent(event_id, kind, meta.get("reference"), None,
                                STATUSES.get(("event", kind)),
                                self._amount(obj.get("amount"), currency), currency, error=error)
        if kind.startswith("refund.") or kind == "charge.refund.updated":
            return self._refund_event(event_id, kind, obj, meta.get("reference"))
        if kind == "charge.refunded":
            listed = (obj.get("refunds") or {}).get("data") or []
            if listed:  # endpoints on an API version before 2022-11-15
                return self._refund_event(event_id, kind, listed[0], meta.get("reference"))
            return GatewayEvent(event_id, kind, meta.get("reference"), obj.get("payment_intent"), None,
                                self._amount(obj.get("amount_refunded"), currency), currency,
                                refund_lookup=True)
        return GatewayEvent(event_id, kind, meta.get("reference"))

    def _refund_event(self, event_id: str, kind: str, refund: Mapping[str, Any],
                      reference: str | None) -> GatewayEvent:
        refund_meta = refund.get("metadata") or {}
        currency = (refund.get("currency") or "").upper() or None
        raw = str(refund.get("status", ""))
        return GatewayEvent(
            event_id, kind, refund_meta.get("reference") or reference, refund.get("payment_intent"), None,
            self._amount(refund.get("amount"), currency), currency,
            refund_status=REFUND_STATUSES.get(raw), refund_id=refund_meta.get("refund_id"),
            gateway_refund_id=refund.get("id"), refund_lookup=not refund_meta.get("refund_id"),
            refund_needs_attention=raw == "requires_action", error=refund.get("failure_reason"))

    @staticmethod
    def _amount(value: Any, currency: str | None) -> int | None:
        try:
            return convert_amount(from_stripe_amount, value, currency)
        except GatewayError as exc:
            raise ValueError(exc.message) from None


#: The session with its PaymentIntent and the PaymentIntent's method (how the customer paid).
VERIFY_EXPAND = [("expand[]", "payment_intent"), ("expand[]", "payment_intent.payment_method")]


def _expiry_refused(exc: GatewayError) -> bool:
    """Stripe refused our ``expires_at`` (too soon for a new session), or the key holds a session
    created with the other candidate: try the next candidate."""
    return exc.details.get("http_status") == 400 and (
        exc.details.get("provider_param") == "expires_at" or exc.details.get("provider_code") == "idempotency_error")


def _not_found(why: str) -> VerifiedPayment:
    return VerifiedPayment(P.REQUIRES_PAYMENT_METHOD, None, None, None, "not_found", why, found=False)
