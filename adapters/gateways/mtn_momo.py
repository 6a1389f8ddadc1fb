"""MTN MoMo Collection (request-to-pay), with refunds through the Disbursement product.

Our reference is not a UUID, so the ``X-Reference-Id`` is a UUIDv4-shaped id derived
deterministically from it: a retry after a timeout reuses it and MoMo answers 409 instead of
charging twice. Callbacks are unsigned: they carry our reference (and an HMAC token) in the query
string and are only hints (``needs_confirmation``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp

from adapters.gateways.base import HttpClient, TokenCache, convert_amount, loads
from adapters.gateways.config import MomoSettings
from adapters.system import SystemClock
from application.errors import GatewayError
from application.ports.gateways import (InitializedPayment, InitializePayment, RefundLookup, RefundOutcome,
                                        RefundPayment, VerifiedPayment)
from domain.money import Money
from domain.payments import PaymentStatus as P
from domain.payments import RefundStatus as R
from domain.webhooks import GatewayEvent

log = logging.getLogger("payport.gateways.mtn_momo")

#: PENDING covers "not answered yet" and "in flight", CREATED is seen before the payer is prompted:
#: both processing. Unknown values: keep polling.
STATUSES: dict[str, P] = {"CREATED": P.PROCESSING, "PENDING": P.PROCESSING, "SUCCESSFUL": P.SUCCEEDED,
                          "FAILED": P.FAILED}
REFUND_STATUSES: dict[str, R] = {"CREATED": R.PROCESSING, "PENDING": R.PROCESSING,
                                 "SUCCESSFUL": R.SUCCEEDED, "FAILED": R.FAILED}
NO_REFUNDS = ("MTN MoMo Collection cannot refund; configure the Disbursement product "
              "(MOMO_DISBURSEMENT_SUBSCRIPTION_KEY, MOMO_DISBURSEMENT_API_USER, "
              "MOMO_DISBURSEMENT_API_KEY) to refund through /disbursement/v1_0/refund")


def to_momo_amount(amount: int, currency: str) -> str:
    """Our minor units -> MoMo's decimal string in major units ("5.00", "1000")."""
    return str(Money(amount, currency).to_major())


def from_momo_amount(value: str, currency: str) -> int:
    """MoMo's decimal string -> our minor units, exact."""
    return Money.from_major(str(value), currency).amount


def momo_reference_id(reference: str, kind: str = "requesttopay") -> str:
    """A UUIDv4-shaped id derived from our reference (stable across retries and processes)."""
    digest = hashlib.sha256(f"payport:{kind}:{reference}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _clean_text(text: str) -> str:
    """MoMo rejects special characters (apostrophes...) and more than 160 characters."""
    return re.sub(r"[^A-Za-z0-9 .,:_-]", "", text)[:160] or "Payment"


class MomoProduct:
    """One MoMo product (Collection, Disbursement): its credentials and cached access token."""

    def __init__(self, http: HttpClient, product: str, subscription_key: str, api_user: str,
                 api_key: str, settings: MomoSettings, clock: Any) -> None:
        self.http, self.product, self.subscription_key = http, product, subscription_key
        self._basic = base64.b64encode(f"{api_user}:{api_key}".encode()).decode()
        self._grant_type = settings.token_grant_type
        self.token = TokenCache(self._fetch_token, clock, settings.token_refresh_margin)

    async def _fetch_token(self) -> tuple[str, float]:
        resp = await self.http.request(
            f"{self.product}_token", "POST", f"/{self.product}/token/",
            headers={"Authorization": f"Basic {self._basic}",
                     "Ocp-Apim-Subscription-Key": self.subscription_key},
            form={"grant_type": "client_credentials"} if self._grant_type else None)
        body = resp.body or {}
        if not body.get("access_token"):
            raise GatewayError(f"mtn_momo: no {self.product} access token in the answer")
        return body["access_token"], float(body.get("expires_in") or 3600)

    async def request(self, operation: str, method: str, path: str, *, headers: dict[str, str],
                      json_body: Any = None, accept: tuple[int, ...] = ()) -> Any:
        """Authorized call; a 401 (token expired early) refreshes the token and retries once."""
        for attempt in (1, 2):
            auth = {"Authorization": f"Bearer {await self.token.get()}",
                    "Ocp-Apim-Subscription-Key": self.subscription_key}
            try:
                return await self.http.request(operation, method, path, headers={**headers, **auth},
                                               json_body=json_body, accept=accept)
            except GatewayError as exc:
                if attempt == 2 or exc.details.get("http_status") != 401:
                    raise
                self.token.invalidate()
        raise AssertionError("unreachable")


class MtnMomoGateway:
    """MTN MoMo request-to-pay: no redirect, the payer approves on the handset.

    One API user and target environment serve one market: only its currency is taken. Nothing
    cancels a request-to-pay (``can_expire``); the prompt lapses on the handset by itself.
    """

    name = "mtn_momo"
    weak_webhook_auth = True
    idempotent_refunds = True  # X-Reference-Id derived from our refund id: a repeat answers 409
    can_expire = False
    #: the request-to-pay puts a prompt on the payer's handset: a 5xx may still end in a payment
    pushes_to_payer = True

    def __init__(self, session: aiohttp.ClientSession, settings: MomoSettings,
                 metrics: Any = None, clock: Any = None) -> None:
        s = self.settings = settings
        market = settings.market
        self.currencies = settings.currencies & market if market else settings.currencies
        self.clock = clock or SystemClock()
        self.http = HttpClient(session, self.name, s.base_url, s.timeouts, metrics=metrics,
                               secrets=(s.subscription_key, s.api_key, s.callback_secret,
                                        s.disbursement_subscription_key, s.disbursement_api_key),
                               clock=self.clock)
        self.collection = MomoProduct(self.http, "collection", s.subscription_key, s.api_user,
                                    s.api_key, s, self.clock)
        self.disbursement = (MomoProduct(self.http, "disbursement", s.disbursement_subscription_key,
                                       s.disbursement_api_user, s.disbursement_api_key, s, self.clock)
                             if s.refunds_enabled else None)

    def callback_token(self, reference: str) -> str:
        return hmac.new(self.settings.callback_secret.encode(), reference.encode(),
                        hashlib.sha256).hexdigest()[:32]

    def _callback_url(self, reference: str) -> str | None:
        base = self.settings.callback_url
        if not base:
            return None
        query = {"reference": reference}
        if self.settings.callback_secret:
            query["token"] = self.callback_token(reference)
        return base + ("&" if "?" in base else "?") + urlencode(query)

    async def _call(self, product: MomoProduct, operation: str, method: str, path: str, *,
                    reference_id: str | None = None, json_body: Any = None,
                    callback: str | None = None, accept: tuple[int, ...] = ()) -> Any:
        headers = {"X-Target-Environment": self.settings.target_environment}
        if reference_id:
            headers["X-Reference-Id"] = reference_id
        if callback:
            headers["X-Callback-Url"] = callback
        return await product.request(operation, method, path, headers=headers,
                                   json_body=json_body, accept=accept)

    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment:
        phone = re.sub(r"[^0-9]", "", request.phone or "")
        if not phone:
            raise GatewayError("mtn_momo: the payer's phone number (MSISDN) is required",
                               gateway=self.name)
        ref_id = momo_reference_id(request.reference)
        body = {"amount": to_momo_amount(request.amount, request.currency),
                "currency": request.currency, "externalId": request.reference,
                "payer": {"partyIdType": "MSISDN", "partyId": phone},
                "payerMessage": _clean_text(request.description), "payeeNote": _clean_text(request.reference)}
        resp = await self._call(self.collection, "initialize", "POST", "/collection/v1_0/requesttopay",
                                reference_id=ref_id, json_body=body,
                                callback=self._callback_url(request.reference), accept=(409,))
        if resp.status == 409:  # RESOURCE_ALREADY_EXIST: an earlier attempt was created
            current = await self.verify_payment(request.reference, ref_id)
            return InitializedPayment(current.status, ref_id, None)
        return InitializedPayment(P.PROCESSING, ref_id, None)

    def callback_gateway_reference(self, params: Mapping[str, str]) -> str | None:
        return None  # the X-Reference-Id is derived from our reference

    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        ref_id = gateway_reference or momo_reference_id(reference)
        resp = await self._call(self.collection, "verify", "GET", f"/collection/v1_0/requesttopay/{ref_id}",
                                accept=(404,))
        if resp.status == 404:  # unknown reference: the request-to-pay was probably never accepted
            return VerifiedPayment(P.REQUIRES_PAYMENT_METHOD, None, None, ref_id, "not_found",
                                   "MoMo has no request-to-pay with this reference", found=False)
        data = resp.body or {}
        if data.get("externalId") not in (None, reference):
            raise GatewayError("mtn_momo: request-to-pay belongs to another reference", gateway=self.name)
        raw = str(data.get("status", ""))
        status = STATUSES.get(raw)
        if status is None:
            log.warning("mtn_momo: unknown status %r, treated as processing", raw)
            status = P.PROCESSING
        reason = data.get("reason")
        if isinstance(reason, dict):
            reason = reason.get("code") or reason.get("message")
        currency = data.get("currency")
        return VerifiedPayment(status, convert_amount(from_momo_amount, data.get("amount"), currency),
                               currency, ref_id, raw, str(reason) if reason else None,
                               payment_method="mobile_money")

    async def expire_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        """Nothing cancels a request-to-pay: its status now."""
        return await self.verify_payment(reference, gateway_reference)

    async def refund(self, request: RefundPayment) -> RefundOutcome:
        if self.disbursement is None:
            raise GatewayError(NO_REFUNDS, gateway=self.name, retryable=False)
        ref_id = momo_reference_id(request.refund_id, "refund")
        body = {"amount": to_momo_amount(request.amount, request.currency),
                "currency": request.currency, "externalId": request.refund_id,
                "payerMessage": _clean_text(request.reason), "payeeNote": _clean_text(request.refund_id),
                "referenceIdToRefund": request.gateway_reference or momo_reference_id(request.reference)}
        resp = await self._call(self.disbursement, "refund", "POST", "/disbursement/v1_0/refund",
                                reference_id=ref_id, json_body=body, accept=(409,))
        if resp.status != 409:
            return RefundOutcome(R.PROCESSING, ref_id)
        current = await self._refund_status(ref_id, request.refund_id)
        return current or RefundOutcome(R.PROCESSING, ref_id)

    async def lookup_refund(self, request: RefundLookup) -> RefundOutcome | None:
        """``GET /disbursement/v1_0/refund/{X-Reference-Id}``, derived from our refund id."""
        if self.disbursement is None:
            return None
        return await self._refund_status(request.gateway_refund_id or momo_reference_id(request.refund_id, "refund"),
                                         request.refund_id)

    async def _refund_status(self, ref_id: str, refund_id: str) -> RefundOutcome | None:
        resp = await self._call(self.disbursement, "refund_status", "GET", f"/disbursement/v1_0/refund/{ref_id}",
                                accept=(404,))
        if resp.status == 404:
            return None
        data = resp.body or {}
        if data.get("externalId") not in (None, refund_id):
            raise GatewayError("mtn_momo: refund belongs to another refund id", gateway=self.name)
        raw = str(data.get("status", ""))
        reason = data.get("reason")
        if isinstance(reason, dict):
            reason = reason.get("code") or reason.get("message")
        currency = data.get("currency")
        try:
            amount = convert_amount(from_momo_amount, data.get("amount"), currency)
        except GatewayError:
            amount = None
        return RefundOutcome(REFUND_STATUSES.get(raw, R.PROCESSING), ref_id,
                             str(reason) if reason else None, amount=amount)

    def verify_webhook_signature(self, headers: Mapping[str, str], body: bytes,
                                 params: Mapping[str, str]) -> bool:
        """No signature exists: accept only callbacks naming a reference (and its token)."""
        reference = params.get("reference")
        if not reference:
            return False
        if self.settings.callback_secret:
            token = params.get("token") or ""
            return hmac.compare_digest(token.encode(), self.callback_token(reference).encode())
        return True

    def parse_webhook_event(self, headers: Mapping[str, str], body: bytes,
                            params: Mapping[str, str]) -> GatewayEvent:
        reference = params.get("reference")
        if not reference:
            raise ValueError("mtn_momo callback without a reference parameter")
        try:
            data = loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise TypeError
            currency = data.get("currency")
            amount = convert_amount(from_momo_amount, data.get("amount"), currency)
        except (ValueError, TypeError, GatewayError) as exc:
            raise ValueError(f"unparseable mtn_momo callback: {type(exc).__name__}") from None
        raw = str(data.get("status", ""))
        seed = f"{reference}|{raw}|{data.get('financialTransactionId', '')}".encode()
        return GatewayEvent(
            event_id="momo_" + hashlib.sha256(seed).hexdigest()[:40], type=f"requesttopay.{raw.lower() or 'unknown'}",
            reference=reference, gateway_reference=momo_reference_id(reference),
            status=STATUSES.get(raw, P.PROCESSING), amount=amount, currency=currency,
            needs_confirmation=True)
