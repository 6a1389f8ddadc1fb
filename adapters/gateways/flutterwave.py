"""Flutterwave v3 Standard: hosted link, major-unit amounts, ``verif-hash`` webhooks (weak)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import aiohttp

from adapters.gateways.base import HttpClient, constant_time_equals, convert_amount, header, loads
from adapters.gateways.config import FlutterwaveSettings
from application.errors import GatewayError, GatewayTimeout
from application.ports.gateways import (InitializedPayment, InitializePayment, RefundOutcome,
                                        RefundPayment, VerifiedPayment)
from domain.money import Money
from domain.payments import PaymentStatus as P
from domain.payments import RefundStatus as R
from domain.webhooks import GatewayEvent

log = logging.getLogger("payport.gateways.flutterwave")

#: Transaction statuses. Anything else is unconfirmed: processing (and logged).
STATUSES: dict[str, P] = {
    "successful": P.SUCCEEDED, "failed": P.FAILED, "pending": P.PROCESSING, "cancelled": P.CANCELED,
}
#: Refund statuses: only "completed" is confirmed (sample response); others map to processing.
REFUND_STATUSES: dict[str, R] = {"completed": R.SUCCEEDED, "failed": R.FAILED, "pending": R.PROCESSING}


def to_flutterwave_amount(amount: int, currency: str) -> Decimal:
    """Our minor units -> Flutterwave major units, exact (sent as a JSON number)."""
    return Money(amount, currency).to_major()


def from_flutterwave_amount(value: Decimal | int | str, currency: str) -> int:
    """Flutterwave major units -> our minor units; refuses sub-minor precision."""
    return Money.from_major(Decimal(str(value)), currency).amount


class FlutterwaveGateway:
    """Flutterwave Standard. ``gateway_reference`` is the numeric transaction id once known."""

    name = "flutterwave"
    weak_webhook_auth = True
    idempotent_refunds = False  # v3 has no idempotency header

    def __init__(self, session: aiohttp.ClientSession, settings: FlutterwaveSettings,
                 metrics: Any = None, clock: Any = None) -> None:
        self.settings = settings
        self.currencies = settings.currencies
        self.http = HttpClient(session, self.name, settings.base_url, settings.timeouts,
                               secrets=(settings.secret_key, settings.secret_hash),
                               metrics=metrics, clock=clock)

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.secret_key}"}

    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment:
        if not request.email:
            raise GatewayError("flutterwave: a customer email is required", gateway=self.name)
        customer = {"email": request.email}
        if request.phone:
            customer["phonenumber"] = request.phone
        body = {"tx_ref": request.reference,
                "amount": to_flutterwave_amount(request.amount, request.currency),
                "currency": request.currency, "redirect_url": request.callback_url,
                "customer": customer, "customizations": {"description": request.description[:200]},
                "meta": {**request.metadata, "reference": request.reference}}
        try:
            resp = await self.http.request("initialize", "POST", "/v3/payments",
                                           headers=self._headers, json_body=body)
        except GatewayError as exc:
            if not (isinstance(exc, GatewayTimeout) or exc.retryable):
                raise
            # A 503/timeout does not mean the create failed: look before anyone retries it.
            existing = await self._find(request.reference)
            if existing is None:
                raise
            return InitializedPayment(existing.status, existing.gateway_reference, None)
        link = ((resp.body or {}).get("data") or {}).get("link")
        if not link:
            raise GatewayError("flutterwave: no payment link in the answer", gateway=self.name)
        return InitializedPayment(P.REQUIRES_ACTION, None, link)

    async def _find(self, reference: str) -> VerifiedPayment | None:
        try:
            return await self.verify_payment(reference, None)
        except GatewayError:
            return None

    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        if gateway_reference and gateway_reference.isdigit():
            resp = await self.http.request("verify", "GET", f"/v3/transactions/{gateway_reference}/verify",
                                           headers=self._headers)
        else:
            resp = await self.http.request("verify", "GET", "/v3/transactions/verify_by_reference",
                                           headers=self._headers, params={"tx_ref": reference})
        data = (resp.body or {}).get("data") or {}
        if data.get("tx_ref") != reference:  # documented check; also stops id substitution
            raise GatewayError("flutterwave: transaction does not carry our tx_ref", gateway=self.name)
        raw = str(data.get("status", ""))
        status = STATUSES.get(raw)
        if status is None:
            log.warning("flutterwave: unknown status %r, treated as processing", raw)
            status = P.PROCESSING
        currency = data.get("currency")
        amount = data.get("amount")
        return VerifiedPayment(
            status=status,
            amount=convert_amount(from_flutterwave_amount, amount, currency),
            currency=currency, gateway_reference=str(data["id"]) if data.get("id") else None,
            raw_status=raw, error=data.get("processor_response") if status is P.FAILED else None)

    async def refund(self, request: RefundPayment) -> RefundOutcome:
        tx_id = request.gateway_reference
        if not (tx_id and tx_id.isdigit()):
            tx_id = (await self.verify_payment(request.reference, None)).gateway_reference
        if not tx_id:
            raise GatewayError("flutterwave: no transaction id to refund", gateway=self.name)
        body = {"amount": to_flutterwave_amount(request.amount, request.currency),
                "comments": f"{request.reason} ({request.refund_id})"[:200]}
        resp = await self.http.request("refund", "POST", f"/v3/transactions/{tx_id}/refund",
                                       headers=self._headers, json_body=body)
        data = (resp.body or {}).get("data") or {}
        status = REFUND_STATUSES.get(str(data.get("status", "")), R.PROCESSING)
        return RefundOutcome(status, str(data["id"]) if data.get("id") else None)

    def verify_webhook_signature(self, headers: Mapping[str, str], body: bytes,
                                 params: Mapping[str, str]) -> bool:
        secret = self.settings.secret_hash
        if not secret:
            return False
        if constant_time_equals(header(headers, "verif-hash"), secret):
            return True
        if self.settings.accept_hmac_signature:
            digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
            return constant_time_equals(header(headers, "flutterwave-signature"),
                                        base64.b64encode(digest).decode())
        return False

    def parse_webhook_event(self, headers: Mapping[str, str], body: bytes,
                            params: Mapping[str, str]) -> GatewayEvent:
        """Both the v3 envelope and the legacy flat shape; always ``needs_confirmation``."""
        try:
            payload = loads(body)
            if "data" in payload and "event" in payload:
                kind, data = str(payload["event"]), payload["data"]
                reference = data.get("tx_ref")
            else:
                kind, data = str(payload["event.type"]), payload
                reference = data.get("txRef") or data.get("tx_ref")
            amount = convert_amount(from_flutterwave_amount, data.get("amount"), data.get("currency"))
        except (ValueError, KeyError, TypeError, AttributeError, GatewayError) as exc:
            raise ValueError(f"unparseable flutterwave event: {type(exc).__name__}") from None
        raw = str(data.get("status", ""))
        currency = data.get("currency")
        is_charge = kind in {"charge.completed", "CARD_TRANSACTION"} or kind.endswith("_TRANSACTION")
        seed = f"{kind}|{data.get('id')}|{raw}".encode()
        return GatewayEvent(
            event_id="flw_" + hashlib.sha256(seed).hexdigest()[:40], type=kind, reference=reference,
            gateway_reference=str(data["id"]) if data.get("id") else None,
            status=STATUSES.get(raw, P.PROCESSING) if is_charge else None,
            amount=amount, currency=currency, needs_confirmation=True)
