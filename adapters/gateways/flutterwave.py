"""Flutterwave v3 Standard: hosted link, major-unit amounts, ``verif-hash`` webhooks (weak)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import aiohttp
import attrs

from adapters.gateways.base import (HttpClient, canonical_id, constant_time_equals, convert_amount, header,
                                    loads, payment_method_name)
from adapters.gateways.config import FlutterwaveSettings
from adapters.system import SystemClock
from application.errors import GatewayError, GatewayTimeout
from application.ports.gateways import (InitializedPayment, InitializePayment, RefundLookup, RefundOutcome,
                                        RefundPayment, VerifiedPayment)
from domain.money import Money
from domain.payments import PaymentStatus as P
from domain.payments import RefundStatus as R
from domain.webhooks import GatewayEvent

log = logging.getLogger("payport.gateways.flutterwave")

#: One transaction's status. Anything else is unconfirmed: processing (and logged).
STATUSES: dict[str, P] = {
    "successful": P.SUCCEEDED, "failed": P.FAILED, "pending": P.PROCESSING, "cancelled": P.CANCELED,
}
#: Standard lets the customer try again on the same link (``max_retry_attempt``), each attempt its
#: own transaction under our tx_ref: while the link is open a failed (or cancelled) attempt does
#: not end our payment. After our window (``expire_payment``) the link has ended and it does.
OPEN_LINK: dict[P, P] = {P.FAILED: P.REQUIRES_ACTION, P.CANCELED: P.REQUIRES_ACTION}
#: v4 webhook ``data.status`` (public beta; the charge statuses of its reference).
V4_STATUSES: dict[str, P] = {"succeeded": P.SUCCEEDED, "failed": P.FAILED, "pending": P.PROCESSING}
#: Refund statuses: "completed" (sample response; "completed-<channel>" seen in the field) and
#: the v4 reference's pending / requires_action / succeeded / failed / cancelled / new.
REFUND_STATUSES: dict[str, R] = {"completed": R.SUCCEEDED, "succeeded": R.SUCCEEDED, "failed": R.FAILED,
                                 "cancelled": R.FAILED, "pending": R.PROCESSING, "new": R.PROCESSING,
                                 "requires_action": R.PROCESSING}
NOT_FOUND = ("no transaction was found", "not found")


def to_flutterwave_amount(amount: int, currency: str) -> Decimal:
    """Our minor units -> Flutterwave major units, exact (sent as a JSON number)."""
    return Money(amount, currency).to_major()


def from_flutterwave_amount(value: Decimal | int | str, currency: str) -> int:
    """Flutterwave major units -> our minor units; refuses sub-minor precision."""
    return Money.from_major(Decimal(str(value)), currency).amount


def session_minutes(expires_at: datetime | None, now: datetime, most: int = 1440) -> int | None:
    """``session_duration``: whole minutes left in our window (never longer), 1 to ``most``."""
    if expires_at is None:
        return None
    return max(1, min(most, int((expires_at - now).total_seconds() // 60)))


def refund_comment(refund_id: str, reason: str) -> str:
    return f"{reason} ({refund_id})"[:200]


def _refund_status(raw: str) -> R:
    if raw.startswith("completed"):
        return R.SUCCEEDED
    status = REFUND_STATUSES.get(raw)
    if status is None:
        log.warning("flutterwave: unknown refund status %r, treated as processing", raw)
        return R.PROCESSING
    return status


class FlutterwaveGateway:
    """Flutterwave Standard. ``gateway_reference`` is the numeric transaction id once known.

    The link's life is bounded by ``session_duration`` (our window); no call closes it early
    (``can_expire``), so ``expire_payment`` reports what happened on it.
    """

    name = "flutterwave"
    weak_webhook_auth = True
    idempotent_refunds = False  # v3 has no idempotency header
    can_expire = False

    def __init__(self, session: aiohttp.ClientSession, settings: FlutterwaveSettings,
                 metrics: Any = None, clock: Any = None) -> None:
        self.settings = settings
        self.currencies = settings.currencies
        self.clock = clock or SystemClock()
        self.http = HttpClient(session, self.name, settings.base_url, settings.timeouts,
                               secrets=(settings.secret_key, settings.secret_hash),
                               metrics=metrics, clock=self.clock)

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.secret_key}"}

    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment:
        if not request.email:
            raise GatewayError("flutterwave: a customer email is required", gateway=self.name)
        customer = {"email": request.email}
        if request.phone:
            customer["phonenumber"] = request.phone
        body: dict[str, Any] = {
            "tx_ref": request.reference, "amount": to_flutterwave_amount(request.amount, request.currency),
            "currency": request.currency, "redirect_url": request.callback_url,
            "customer": customer, "customizations": {"description": request.description[:200]},
            "meta": {**request.metadata, "reference": request.reference}}
        minutes = session_minutes(request.expires_at, self.clock.now(), self.settings.max_session_minutes)
        if minutes is not None:
            body["session_duration"] = minutes
        if self.settings.max_retry_attempt is not None:
            body["max_retry_attempt"] = self.settings.max_retry_attempt
        try:
            resp = await self.http.request("initialize", "POST", "/v3/payments",
                                           headers=self._headers, json_body=body)
        except GatewayError as exc:
            if not (isinstance(exc, GatewayTimeout) or exc.retryable):
                raise
            # A 503/timeout does not mean the create failed: look before anyone retries it.
            existing = await self._find(request.reference)
            if existing is None or not existing.found:
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

    def callback_gateway_reference(self, params: Mapping[str, str]) -> str | None:
        """The ``transaction_id`` on the redirect (unconfirmed officially; verified before use)."""
        transaction_id = params.get("transaction_id") or ""
        return transaction_id if transaction_id.isdigit() else None

    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        """The payment as it stands while its link may still take attempts: a success on any
        attempt under our tx_ref, else the latest word with a failed attempt kept non-final."""
        current, failed = await self._current(reference, gateway_reference)
        if current.status in OPEN_LINK:
            limit = self.settings.max_retry_attempt
            if limit is not None and failed > limit:  # the first attempt and every retry failed
                return current
            return attrs.evolve(current, status=OPEN_LINK[current.status],
                                error=f"attempt {current.raw_status}: {current.error or 'no reason given'}; "
                                      "the customer may try again on the same link")
        return current

    async def expire_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        """After our window the link has ended (``session_duration``): a failed attempt is final."""
        return (await self._current(reference, gateway_reference))[0]

    async def _current(self, reference: str, gateway_reference: str | None) -> tuple[VerifiedPayment, int]:
        """(the transaction that decides, how many attempts failed)."""
        current = await self._verify_one(reference, gateway_reference)
        if current.status is P.SUCCEEDED or not current.found or not self.settings.list_attempts:
            return current, int(current.status is P.FAILED)
        attempts = await self._attempts(reference)
        failed = sum(1 for a in attempts if a.get("status") == "failed") or int(current.status is P.FAILED)
        success = next((a for a in attempts if a.get("status") == "successful" and a.get("id")), None)
        if success is not None and str(success["id"]) != current.gateway_reference:
            confirmed = await self._verify_one(reference, str(success["id"]))  # the documented check
            if confirmed.status is P.SUCCEEDED:
                return confirmed, failed
        return current, failed

    async def _attempts(self, reference: str) -> list[Mapping[str, Any]]:
        """Every transaction under our tx_ref (``GET /v3/transactions?tx_ref=``); [] if unreadable."""
        try:
            resp = await self.http.request("attempts", "GET", "/v3/transactions", headers=self._headers,
                                           params={"tx_ref": reference})
        except GatewayError as exc:
            log.warning("flutterwave: could not list the attempts of %s: %s", reference, exc.message)
            return []
        data = (resp.body or {}).get("data") or []
        return [a for a in data if isinstance(a, dict) and a.get("tx_ref") == reference]

    async def _verify_one(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        if gateway_reference and gateway_reference.isdigit():
            resp = await self.http.request("verify", "GET", f"/v3/transactions/{gateway_reference}/verify",
                                           headers=self._headers, accept=(400, 404))
        else:
            resp = await self.http.request("verify", "GET", "/v3/transactions/verify_by_reference",
                                           headers=self._headers, params={"tx_ref": reference},
                                           accept=(400, 404))
        if resp.status >= 400:
            message = str((resp.body or {}).get("message", "")).lower() if isinstance(resp.body, dict) else ""
            if not any(text in message for text in NOT_FOUND):
                raise self.http.error_for("verify", resp)
            # Standard creates no transaction until the customer attempts to pay: not an error
            return VerifiedPayment(P.REQUIRES_PAYMENT_METHOD, None, None, None, "not_found",
                                   "no attempt yet under this tx_ref", found=False)
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
            raw_status=raw, error=data.get("processor_response") if status in OPEN_LINK else None,
            payment_method=payment_method_name(data.get("payment_type")))

    async def refund(self, request: RefundPayment) -> RefundOutcome:
        tx_id = request.gateway_reference
        if not (tx_id and tx_id.isdigit()):
            paid = await self.verify_payment(request.reference, None)
            tx_id = paid.gateway_reference if paid.status is P.SUCCEEDED else None
        if not tx_id:
            raise GatewayError("flutterwave: no successful transaction to refund", gateway=self.name)
        body = {"amount": to_flutterwave_amount(request.amount, request.currency),
                "comments": refund_comment(request.refund_id, request.reason)}
        resp = await self.http.request("refund", "POST", f"/v3/transactions/{tx_id}/refund",
                                       headers=self._headers, json_body=body)
        return self._refund_outcome((resp.body or {}).get("data") or {}, request.currency)

    async def lookup_refund(self, request: RefundLookup) -> RefundOutcome | None:
        """The refund by Flutterwave's id (``settings.refund_path``), else among the listed refunds
        by our id in its comments (both paths unconfirmed for v3: configurable)."""
        if request.gateway_refund_id:
            path = self.settings.refund_path.format(id=quote(request.gateway_refund_id, safe=""))
            resp = await self.http.request("refund_status", "GET", path, headers=self._headers,
                                           accept=(400, 404))
            if resp.status >= 400:
                message = str((resp.body or {}).get("message", "")).lower() if isinstance(resp.body, dict) else ""
                if resp.status == 404 or "not found" in message:
                    return None
                raise self.http.error_for("refund_status", resp)
            return self._refund_outcome((resp.body or {}).get("data") or {}, request.currency)
        marker = f"({request.refund_id})"
        for page in range(1, self.settings.refund_list_pages + 1):
            try:
                resp = await self.http.request("refund_list", "GET", self.settings.refund_list_path,
                                               headers=self._headers, params={"page": str(page)})
            except GatewayError as exc:
                if exc.retryable or isinstance(exc, GatewayTimeout):
                    raise
                return None  # no such listing here
            refunds = (resp.body or {}).get("data") or []
            for refund in refunds:
                note = str(refund.get("comments") or refund.get("comment") or "")
                tx = str(refund.get("tx_id") or refund.get("transaction_id") or "")
                if marker in note and (not request.gateway_reference or not tx or tx == request.gateway_reference):
                    return self._refund_outcome(refund, request.currency)
            if not refunds:
                return None
        return None

    def _refund_outcome(self, data: Mapping[str, Any], currency: str) -> RefundOutcome:
        raw = str(data.get("status", ""))
        try:
            amount = convert_amount(from_flutterwave_amount, data.get("amount_refunded"), currency)
        except GatewayError:
            amount = None
        return RefundOutcome(_refund_status(raw), str(data["id"]) if data.get("id") else None,
                             needs_attention=raw == "requires_action", amount=amount)

    def verify_webhook_signature(self, headers: Mapping[str, str], body: bytes,
                                 params: Mapping[str, str]) -> bool:
        """v3 ``verif-hash`` or v4 ``flutterwave-signature`` equal to the secret hash; with
        ``accept_hmac_signature``, also ``flutterwave-signature`` = base64(HMAC-SHA256(hash, body))."""
        secret = self.settings.secret_hash
        if not secret:
            return False
        signature = header(headers, "flutterwave-signature")
        if constant_time_equals(header(headers, "verif-hash"), secret) or constant_time_equals(signature, secret):
            return True
        if self.settings.accept_hmac_signature:
            digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
            return constant_time_equals(signature, base64.b64encode(digest).decode())
        return False

    def parse_webhook_event(self, headers: Mapping[str, str], body: bytes,
                            params: Mapping[str, str]) -> GatewayEvent:
        """The v3 envelope, the legacy flat shape and the v4 ``type`` envelope; always
        ``needs_confirmation`` (the outcome is verified with the API before money moves)."""
        try:
            payload = loads(body)
            if not isinstance(payload, dict):
                raise TypeError
            if "event" not in payload and "type" in payload and isinstance(payload.get("data"), dict):
                return self._v4_event(payload)
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
        seed = f"{kind}|{data.get('id')}|{raw}".encode()
        event_id = "flw_" + hashlib.sha256(seed).hexdigest()[:40]
        if kind.startswith("refund."):
            return self._refund_event(event_id, kind, data, reference)
        is_charge = kind in {"charge.completed", "CARD_TRANSACTION"} or kind.endswith("_TRANSACTION")
        status = STATUSES.get(raw, P.PROCESSING) if is_charge else None
        return GatewayEvent(
            event_id=event_id, type=kind, reference=reference,
            gateway_reference=str(data["id"]) if data.get("id") else None,
            status=OPEN_LINK.get(status, status) if status else None, amount=amount, currency=currency,
            needs_confirmation=True, error=data.get("processor_response") if status in OPEN_LINK else None)

    def _v4_event(self, payload: Mapping[str, Any]) -> GatewayEvent:
        """``{"type", "id", "timestamp", "data": {"status", "reference", ...}}``. Its amount unit is
        unconfirmed: left out (the outcome is verified by our tx_ref before money moves)."""
        kind, data = str(payload["type"]), payload["data"]
        raw = str(data.get("status", ""))
        event_id = (f"flw4_{payload['id']}" if payload.get("id") else canonical_id("flw4_", payload))
        reference = data.get("reference") or data.get("tx_ref")
        if kind.startswith("refund."):
            return self._refund_event(event_id, kind, data, reference)
        status = V4_STATUSES.get(raw, P.PROCESSING) if kind.startswith("charge.") else None
        return GatewayEvent(event_id=event_id, type=kind, reference=reference,
                            gateway_reference=str(data["id"]) if data.get("id") else None,
                            status=OPEN_LINK.get(status, status) if status else None,
                            currency=data.get("currency"), needs_confirmation=True)

    @staticmethod
    def _refund_event(event_id: str, kind: str, data: Mapping[str, Any], reference: str | None) -> GatewayEvent:
        """Refund events (names unconfirmed for v3): never trusted alone, followed by lookup."""
        raw = str(data.get("status", ""))
        return GatewayEvent(event_id=event_id, type=kind, reference=reference, needs_confirmation=True,
                            refund_status=_refund_status(raw) if raw else None,
                            gateway_refund_id=str(data["id"]) if data.get("id") else None,
                            refund_lookup=True, refund_needs_attention=raw == "requires_action")
