"""Paystack: hosted payment page, subunit amounts, ``x-paystack-signature`` (HMAC-SHA512) webhooks."""
from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from adapters.gateways.base import HttpClient, convert_amount, header, loads
from adapters.gateways.config import PaystackSettings
from application.errors import GatewayError
from application.ports.gateways import (InitializedPayment, InitializePayment, RefundOutcome,
                                        RefundPayment, VerifiedPayment)
from domain.money import Money, exponent
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
#: Refund lifecycle pending -> processing -> processed | failed (the field's enum is unconfirmed).
REFUND_STATUSES: dict[str, R] = {
    "pending": R.PROCESSING, "processing": R.PROCESSING, "processed": R.SUCCEEDED, "failed": R.FAILED,
}
DUPLICATE_REFERENCE = "duplicate transaction reference"


def to_paystack_amount(amount: int, currency: str) -> int:
    """Our minor units -> Paystack subunits (kobo, pesewas, cents), exact."""
    return int(Money(amount, currency).to_major().scaleb(exponent(currency)))


def from_paystack_amount(value: int | str, currency: str) -> int:
    """Paystack subunits -> our minor units, exact."""
    return Money.from_major(Money(int(value), currency).to_major(), currency).amount


class PaystackGateway:
    """Paystack Standard: initialize, redirect, verify by our reference."""

    name = "paystack"
    weak_webhook_auth = False
    idempotent_refunds = False  # no idempotency key on POST /refund: never retried blindly

    def __init__(self, session: aiohttp.ClientSession, settings: PaystackSettings,
                 metrics: Any = None, clock: Any = None) -> None:
        self.settings = settings
        self.currencies = settings.currencies
        self.http = HttpClient(session, self.name, settings.base_url, settings.timeouts,
                               secrets=(settings.secret_key,), metrics=metrics, clock=clock)

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.secret_key}"}

    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment:
        if not request.email:
            raise GatewayError("paystack: a customer email is required", gateway=self.name)
        body = {"email": request.email, "amount": to_paystack_amount(request.amount, request.currency),
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

    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        resp = await self.http.request("verify", "GET", f"/transaction/verify/{quote(reference, safe='')}",
                                       headers=self._headers)
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
            amount=convert_amount(from_paystack_amount, amount, currency),
            currency=currency, gateway_reference=str(data["id"]) if data.get("id") else None,
            raw_status=raw, error=error)

    async def refund(self, request: RefundPayment) -> RefundOutcome:
        body = {"transaction": request.gateway_reference or request.reference,
                "amount": to_paystack_amount(request.amount, request.currency),
                "currency": request.currency, "merchant_note": f"{request.refund_id}: {request.reason}"[:200]}
        resp = await self.http.request("refund", "POST", "/refund", headers=self._headers, json_body=body)
        data = (resp.body or {}).get("data") or {}
        status = REFUND_STATUSES.get(str(data.get("status", "")), R.PROCESSING)
        return RefundOutcome(status, str(data["id"]) if data.get("id") else None)

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
        event_id = _event_id(kind, data, body)
        currency = data.get("currency")
        try:
            amount = convert_amount(from_paystack_amount, data.get("amount"), currency)
        except GatewayError as exc:
            raise ValueError(exc.message) from None
        if kind.startswith("refund."):
            tx = data.get("transaction") if isinstance(data.get("transaction"), dict) else {}
            reference = data.get("transaction_reference") or tx.get("reference")
            return GatewayEvent(event_id, kind, reference, None, None, amount, currency,
                                refund_status=REFUND_STATUSES.get(kind.removeprefix("refund.")),
                                gateway_refund_id=str(data["id"]) if data.get("id") else None)
        status = STATUSES.get(str(data.get("status", ""))) if kind.startswith("charge.") else None
        if kind.startswith("charge.dispute"):
            status = None
        return GatewayEvent(event_id, kind, data.get("reference"),
                            str(data["id"]) if data.get("id") else None, status, amount, currency)


def _event_id(kind: str, data: Mapping[str, Any], body: bytes) -> str:
    """Paystack sends no event id: derive a stable one (same for re-serialized retries)."""
    if data.get("id") is not None:
        seed = f"{kind}|{data.get('id')}|{data.get('status', '')}".encode()
    else:
        seed = body
    return "ps_" + hashlib.sha256(seed).hexdigest()[:40]
