"""Paystack: hosted payment page, subunit amounts, ``x-paystack-signature`` (HMAC-SHA512) webhooks."""
from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import aiohttp

from adapters.gateways.base import (HttpClient, canonical_id, convert_amount, header, loads,
                                    payment_method_name)
from adapters.gateways.config import PAYSTACK_CONFIRMED_SUBUNITS, PaystackSettings
from application.errors import GatewayError
from application.ports.gateways import (InitializedPayment, InitializePayment, RefundLookup, RefundOutcome,
                                        RefundPayment, VerifiedPayment)
from domain.errors import DomainError, InvalidValue
from domain.money import Money
from domain.payments import PaymentStatus as P
from domain.payments import RefundStatus as R
from domain.webhooks import GatewayEvent

log = logging.getLogger("payport.gateways.paystack")

#: Transaction statuses (reference §6). ``abandoned`` is how an unpaid, initialized transaction
#: reports: the customer can still pay, so it is not final (our own expiry cancels it).
#: ``reversed`` = refunded or charged back after success: the money went back, so it maps to
#: ``canceled`` (the reference's closest common status). An intent we already recorded as succeeded
#: is terminal and stays so; one we had not yet settled must never become "paid" and be fulfilled.
STATUSES: dict[str, P] = {
    "abandoned": P.REQUIRES_ACTION, "ongoing": P.REQUIRES_ACTION,
    "pending": P.PROCESSING, "processing": P.PROCESSING, "queued": P.PROCESSING,
    "success": P.SUCCEEDED, "failed": P.FAILED, "reversed": P.CANCELED,
}
NEEDS_ATTENTION = "needs-attention"
#: Refund lifecycle pending -> processing -> processed | failed, and needs-attention (the customer's
#: account details are needed): non-final, flagged for a person.
REFUND_STATUSES: dict[str, R] = {
    "pending": R.PROCESSING, "processing": R.PROCESSING, "processed": R.SUCCEEDED, "failed": R.FAILED,
    NEEDS_ATTENTION: R.PROCESSING,
}
DUPLICATE_REFERENCE = "duplicate transaction reference"
RETRY_HINT = ("needs-attention: Paystack needs the customer's account details "
              "(POST /refund/retry_with_customer_details/{id})")


def _factor(currency: str, subunits: Mapping[str, int]) -> int:
    try:
        return subunits[currency]
    except KeyError:
        raise InvalidValue(f"Paystack's unit for {currency} is unconfirmed: state it in "
                           "PAYSTACK_CURRENCY_SUBUNITS", currency=currency) from None


def to_paystack_amount(amount: int, currency: str,
                       subunits: Mapping[str, int] = PAYSTACK_CONFIRMED_SUBUNITS) -> int:
    """Our minor units -> Paystack subunits (kobo, pesewas, cents), exact; refuses a currency
    whose unit is neither confirmed nor stated by an operator."""
    value = Money(amount, currency).to_major() * _factor(currency, subunits)
    if value != value.to_integral_value():
        raise InvalidValue(f"{amount} {currency} is not a whole number of Paystack units", currency=currency)
    return int(value)


def from_paystack_amount(value: int | str, currency: str,
                         subunits: Mapping[str, int] = PAYSTACK_CONFIRMED_SUBUNITS) -> int:
    """Paystack subunits -> our minor units, exact."""
    return Money.from_major(Decimal(int(value)) / _factor(currency, subunits), currency).amount


def refund_note(refund_id: str, reason: str) -> str:
    """``merchant_note``: our refund id first, so lookups and people can match it."""
    return f"{refund_id}: {reason}"[:200]


def refund_id_from_note(note: Any) -> str | None:
    head, sep, _ = str(note or "").partition(":")
    return head.strip() if sep and head.strip() and " " not in head.strip() else None


class PaystackGateway:
    """Paystack Standard: initialize, redirect, verify by our reference.

    Paystack has no call that closes a transaction (``can_expire``): a payment made after our
    window is still reported by ``verify_payment``, and is money we hold.
    """

    name = "paystack"
    weak_webhook_auth = False
    idempotent_refunds = False  # no idempotency key on POST /refund: never retried blindly
    can_expire = False

    def __init__(self, session: aiohttp.ClientSession, settings: PaystackSettings,
                 metrics: Any = None, clock: Any = None) -> None:
        self.settings = settings
        self.currencies = settings.currencies
        self.subunits = settings.subunits
        self.http = HttpClient(session, self.name, settings.base_url, settings.timeouts,
                               secrets=(settings.secret_key,), metrics=metrics, clock=clock)

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.secret_key}"}

    def _to_units(self, amount: int, currency: str) -> int:
        try:
            return to_paystack_amount(amount, currency, self.subunits)
        except DomainError as exc:
            raise GatewayError(f"paystack: {exc.message}", gateway=self.name) from None

    def _from_units(self, value: Any, currency: str) -> int:
        return from_paystack_amount(value, currency, self.subunits)

    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment:
        if not request.email:
            raise GatewayError("paystack: a customer email is required", gateway=self.name)
        body = {"email": request.email, "amount": self._to_units(request.amount, request.currency),
                "currency": request.currency, "reference": request.reference,
                "callback_url": request.callback_url,
                "metadata": {**request.metadata, "reference": request.reference}}
        try:
            resp = await self.http.request("initialize", "POST", "/transaction/initialize",
                                           headers=self._headers, json_body=body)
        except GatewayError as exc:
            if exc.retryable or DUPLICATE_REFERENCE not in exc.message.lower():
                raise
            return await self._already_initialized(request)
        data = (resp.body or {}).get("data") or {}
        if not data.get("authorization_url"):
            raise GatewayError("paystack: no authorization_url in the answer", gateway=self.name)
        return InitializedPayment(P.REQUIRES_ACTION, None, data["authorization_url"])

    async def _already_initialized(self, request: InitializePayment) -> InitializedPayment:
        """Our reference exists at Paystack (an earlier attempt got through): report its state."""
        current = await self.verify_payment(request.reference, None)
        if (current.amount, current.currency) != (request.amount, request.currency):
            raise GatewayError("paystack: reference already used for a different amount",
                               gateway=self.name, reference=request.reference)
        return InitializedPayment(current.status, current.gateway_reference, None)

    def callback_gateway_reference(self, params: Mapping[str, str]) -> str | None:
        return None  # Paystack verifies by our own reference

    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        resp = await self.http.request("verify", "GET", f"/transaction/verify/{quote(reference, safe='')}",
                                       headers=self._headers, accept=(400, 404))
        if resp.status >= 400:
            if not _not_found(resp.body):
                raise self.http.error_for("verify", resp)
            return VerifiedPayment(P.REQUIRES_PAYMENT_METHOD, None, None, None, "not_found",
                                   "Transaction reference not found", found=False)
        data = (resp.body or {}).get("data") or {}
        raw = str(data.get("status", ""))
        if data.get("reference") not in (None, reference):
            raise GatewayError("paystack: verify answered for another reference", gateway=self.name)
        status = STATUSES.get(raw)
        if status is None:
            log.warning("paystack: unknown transaction status %r, treated as processing", raw)
            status = P.PROCESSING
        currency = data.get("currency")
        amount = data.get("amount")
        error = data.get("gateway_response") if status is P.FAILED else None
        if raw == "reversed":
            error = "reversed at the gateway (refund or chargeback after success)"
        return VerifiedPayment(
            status=status,
            amount=convert_amount(self._from_units, amount, currency),
            currency=currency, gateway_reference=str(data["id"]) if data.get("id") else None,
            raw_status=raw, error=error, payment_method=payment_method_name(data.get("channel")))

    async def expire_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        """Nothing closes a Paystack transaction: its status now, except that ``abandoned`` (nothing
        was submitted on the page) past our window is expired. Paystack keeps that page payable, so a
        success it verifies later is a late capture (recorded, then paying the order or refunded:
        ``application.payments.settle``); waiting on ``abandoned`` instead would keep the intent
        live, and its order unpayable, until a person looked. ``ongoing`` (the customer is paying)
        is not finished, and is left to run."""
        current = await self.verify_payment(reference, gateway_reference)
        if current.found and current.raw_status == "abandoned":
            return VerifiedPayment(P.EXPIRED, None, None, current.gateway_reference, "abandoned",
                                   "payment window passed with nothing paid on the Paystack page")
        return current

    async def refund(self, request: RefundPayment) -> RefundOutcome:
        body = {"transaction": request.gateway_reference or request.reference,
                "amount": self._to_units(request.amount, request.currency),
                "currency": request.currency, "merchant_note": refund_note(request.refund_id, request.reason)}
        resp = await self.http.request("refund", "POST", "/refund", headers=self._headers, json_body=body)
        return self._refund_outcome((resp.body or {}).get("data") or {})

    async def lookup_refund(self, request: RefundLookup) -> RefundOutcome | None:
        """``GET /refund/{id}``, else the transaction's refunds (``GET /refund?transaction=``)
        matched by our refund id at the head of ``merchant_note``."""
        if request.gateway_refund_id:
            resp = await self.http.request("refund_status", "GET", f"/refund/{quote(request.gateway_refund_id)}",
                                           headers=self._headers, accept=(400, 404))
            if resp.status >= 400:
                if _not_found(resp.body):
                    return None
                raise self.http.error_for("refund_status", resp)
            data = (resp.body or {}).get("data") or {}
            if refund_id_from_note(data.get("merchant_note")) not in (None, request.refund_id):
                raise GatewayError("paystack: refund belongs to another refund id", gateway=self.name)
            return self._refund_outcome(data)
        transaction = request.gateway_reference
        if not (transaction and transaction.isdigit()):
            transaction = (await self.verify_payment(request.reference, None)).gateway_reference
        if not transaction:
            return None
        for page in range(1, 11):
            body = (await self.http.request("refund_list", "GET", "/refund", headers=self._headers,
                                            params={"transaction": transaction, "perPage": "100",
                                                    "page": str(page)})).body or {}
            refunds = body.get("data") or []
            for refund in refunds:
                if refund_id_from_note(refund.get("merchant_note")) == request.refund_id:
                    return self._refund_outcome(refund)
            page_count = ((body.get("meta") or {}).get("pageCount")) or 1
            if len(refunds) < 100 or page >= int(page_count):
                return None
        return None

    async def retry_refund_with_customer_details(self, gateway_refund_id: str,
                                                 account_details: Mapping[str, str]) -> RefundOutcome:
        """Answer a ``needs-attention`` refund with the customer's account (``currency``,
        ``account_number``, ``bank_id``): ``POST /refund/retry_with_customer_details/{id}``."""
        resp = await self.http.request(
            "refund_retry", "POST", f"/refund/retry_with_customer_details/{quote(gateway_refund_id)}",
            headers=self._headers, json_body={"refund_account_details": dict(account_details)})
        return self._refund_outcome((resp.body or {}).get("data") or {})

    def _refund_outcome(self, data: Mapping[str, Any]) -> RefundOutcome:
        raw = str(data.get("status", ""))
        status = REFUND_STATUSES.get(raw)
        if status is None:
            log.warning("paystack: unknown refund status %r, treated as processing", raw)
            status = R.PROCESSING
        try:
            amount = convert_amount(self._from_units, data.get("amount"), data.get("currency"))
        except GatewayError:
            amount = None
        attention = raw == NEEDS_ATTENTION
        refund_id = str(data["id"]) if data.get("id") else None
        return RefundOutcome(status, refund_id, retry_hint(refund_id) if attention else None,
                             needs_attention=attention, amount=amount)

    def verify_webhook_signature(self, headers: Mapping[str, str], body: bytes,
                                 params: Mapping[str, str]) -> bool:
        signature = header(headers, "x-paystack-signature")
        if not signature or not self.settings.secret_key:
            return False
        expected = hmac.new(self.settings.secret_key.encode(), body, hashlib.sha512).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())

    def parse_webhook_event(self, headers: Mapping[str, str], body: bytes,
                            params: Mapping[str, str]) -> GatewayEvent:
        try:
            payload = loads(body)
            kind, data = str(payload["event"]), payload["data"]
            if not isinstance(data, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"unparseable paystack event: {type(exc).__name__}") from None
        event_id = _event_id(kind, data)
        currency = data.get("currency")
        try:
            amount = convert_amount(self._from_units, data.get("amount"), currency)
        except GatewayError as exc:
            raise ValueError(exc.message) from None
        if kind.startswith("refund."):
            return self._refund_event(event_id, kind, data, amount, currency)
        status = STATUSES.get(str(data.get("status", ""))) if kind.startswith("charge.") else None
        if kind.startswith("charge.dispute"):
            status = None
        return GatewayEvent(event_id, kind, data.get("reference"),
                            str(data["id"]) if data.get("id") else None, status, amount, currency)

    @staticmethod
    def _refund_event(event_id: str, kind: str, data: Mapping[str, Any], amount: int | None,
                      currency: str | None) -> GatewayEvent:
        """``refund.pending|processing|processed|failed`` carry no refund id (and no
        ``merchant_note``): only the transaction reference (ours) and the amount, so the event
        asks for a lookup. ``refund.needs-attention`` carries the refund id."""
        tx = data.get("transaction") if isinstance(data.get("transaction"), dict) else {}
        raw = str(data.get("status") or kind.removeprefix("refund."))
        attention = raw == NEEDS_ATTENTION or kind == f"refund.{NEEDS_ATTENTION}"
        refund_id = refund_id_from_note(data.get("merchant_note"))
        return GatewayEvent(
            event_id, kind, data.get("transaction_reference") or tx.get("reference"), None, None,
            amount, currency, refund_status=R.PROCESSING if attention else REFUND_STATUSES.get(raw),
            refund_id=refund_id, gateway_refund_id=str(data["id"]) if data.get("id") else None,
            refund_lookup=refund_id is None, refund_needs_attention=attention,
            error=retry_hint(str(data["id"]) if data.get("id") else None) if attention else None)


def retry_hint(gateway_refund_id: str | None) -> str:
    """What a person reads on a needs-attention refund: the retry call, with Paystack's refund id."""
    return RETRY_HINT.format(id=gateway_refund_id or "{id}")


def _not_found(body: Any) -> bool:
    """Paystack's "not found" answer (e.g. "Transaction reference not found")."""
    if not isinstance(body, dict):
        return False
    text = f"{body.get('message', '')} {body.get('code', '')}".lower()
    return "not found" in text or "not_found" in text


def _event_id(kind: str, data: Mapping[str, Any]) -> str:
    """Paystack sends no event id: derive a stable one (same for re-serialized retries)."""
    if data.get("id") is not None:
        seed = f"{kind}|{data.get('id')}|{data.get('status', '')}".encode()
        return "ps_" + hashlib.sha256(seed).hexdigest()[:40]
    return canonical_id("ps_", {"event": kind, "data": data})
