"""The sandbox gateway: in-process, deterministic, with a hosted payment page (approve / decline).

Its transactions live in a key-value ``Cache`` (memory, or Redis so several API processes agree).
Settling one produces a webhook signed like Stripe's scheme: header
``Payport-Sandbox-Signature: t=<unix>,v1=<hex HMAC-SHA256 of f"{t}." + raw body>``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from adapters.gateways.base import loads
from application.errors import NotFound
from application.ports import (
    Cache,
    Clock,
    InitializedPayment,
    InitializePayment,
    RefundOutcome,
    RefundPayment,
    VerifiedPayment,
)
from application.ports.gateways import RefundLookup
from domain.money import CURRENCY_EXPONENTS
from domain.payments import PaymentStatus, RefundStatus
from domain.webhooks import GatewayEvent

SIGNATURE_HEADER = "Payport-Sandbox-Signature"
TOLERANCE = 300
TTL = 7 * 86400
_STATUS = {"pending": PaymentStatus.REQUIRES_ACTION, "approved": PaymentStatus.SUCCEEDED,
           "declined": PaymentStatus.FAILED, "expired": PaymentStatus.EXPIRED}


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class SandboxGateway:
    name = "sandbox"
    currencies = frozenset(CURRENCY_EXPONENTS)
    weak_webhook_auth = False
    idempotent_refunds = True
    can_expire = True  # a pending sandbox page is closed by expire_payment

    def __init__(self, store: Cache, webhook_secret: str, public_url: str, clock: Clock) -> None:
        self.store, self.secret, self.clock = store, webhook_secret, clock
        self.public_url = public_url.rstrip("/")

    def _key(self, reference: str) -> str:
        return f"sandbox:txn:{reference}"

    async def transaction(self, reference: str) -> dict | None:
        raw = await self.store.get(self._key(reference))
        return json.loads(raw) if raw else None

    async def _put(self, txn: dict) -> None:
        await self.store.set(self._key(txn["reference"]), json.dumps(txn).encode(), TTL)

    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment:
        txn = await self.transaction(request.reference)
        if txn is None:  # idempotent by reference: a retry gets the same page
            txn = {"reference": request.reference, "id": "sbx_" + hashlib.sha256(request.reference.encode()).hexdigest()[:20],
                   "amount": request.amount, "currency": request.currency, "status": "pending",
                   "callback_url": request.callback_url, "description": request.description, "refunded": 0}
            await self._put(txn)
        return InitializedPayment(_STATUS[txn["status"]], txn["id"], f"{self.public_url}/sandbox/pay/{request.reference}")

    def callback_gateway_reference(self, params: Mapping[str, str]) -> str | None:
        return None

    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        txn = await self.transaction(reference)
        if txn is None:
            return VerifiedPayment(PaymentStatus.REQUIRES_PAYMENT_METHOD, None, None, None, "not_found",
                                   "sandbox: unknown reference", found=False)
        status = _STATUS[txn["status"]]
        return VerifiedPayment(status, txn["amount"] if status is PaymentStatus.SUCCEEDED else None,
                               txn["currency"], txn["id"], txn["status"],
                               "declined on the sandbox page" if txn["status"] == "declined" else None)

    async def expire_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        """Close a pending page (Approve no longer works); report what it is now."""
        txn = await self.transaction(reference)
        if txn is not None and txn["status"] == "pending":
            txn["status"] = "expired"
            await self._put(txn)
        return await self.verify_payment(reference, gateway_reference)

    async def settle(self, reference: str, approve: bool) -> tuple[dict, dict[str, str], bytes]:
        """The customer pressed Approve or Decline: returns (transaction, webhook headers, webhook body)."""
        txn = await self.transaction(reference)
        if txn is None:
            raise NotFound("no sandbox payment with this reference")
        if txn["status"] == "pending":
            txn["status"] = "approved" if approve else "declined"
            await self._put(txn)
        body = json.dumps({
            "id": f"evt_{txn['id']}_{txn['status']}", "type": f"payment.{txn['status']}",
            "data": {"reference": reference, "id": txn["id"], "amount": txn["amount"],
                     "currency": txn["currency"], "status": txn["status"]},
        }, separators=(",", ":")).encode()
        return txn, {SIGNATURE_HEADER: sign(self.secret, body, int(self.clock.now().timestamp()))}, body

    async def refund(self, request: RefundPayment) -> RefundOutcome:
        txn = await self.transaction(request.reference)
        if txn is None or txn["status"] != "approved":
            return RefundOutcome(RefundStatus.FAILED, None, "sandbox: payment not captured")
        if txn["refunded"] + request.amount > txn["amount"]:
            return RefundOutcome(RefundStatus.FAILED, None, "sandbox: refund above captured amount")
        refunds = txn.setdefault("refund_ids", [])
        if request.refund_id not in refunds:  # idempotent by our refund id
            refunds.append(request.refund_id)
            txn["refunded"] += request.amount
            await self._put(txn)
        return RefundOutcome(RefundStatus.SUCCEEDED, f"sbr_{request.refund_id}")

    async def lookup_refund(self, request: RefundLookup) -> RefundOutcome | None:
        txn = await self.transaction(request.reference)
        if txn is None or request.refund_id not in txn.get("refund_ids", []):
            return None
        return RefundOutcome(RefundStatus.SUCCEEDED, f"sbr_{request.refund_id}", amount=None)

    def verify_webhook_signature(self, headers: Mapping[str, str], body: bytes, params: Mapping[str, str]) -> bool:
        header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), None)
        if not header:
            return False
        parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
        stamps = [v for k, v in parts if k == "t"]
        signatures = [v for k, v in parts if k == "v1"]
        if len(stamps) != 1 or not signatures or not stamps[0].isdigit():
            return False
        timestamp = int(stamps[0])
        if abs(self.clock.now().timestamp() - timestamp) > TOLERANCE:
            return False
        expected = sign(self.secret, body, timestamp).split("v1=", 1)[1]
        return any(hmac.compare_digest(expected, s) for s in signatures)

    def parse_webhook_event(self, headers: Mapping[str, str], body: bytes, params: Mapping[str, str]) -> GatewayEvent:
        payload = loads(body)
        data = payload["data"]
        status = _STATUS[data["status"]]
        return GatewayEvent(
            event_id=str(payload["id"]), type=str(payload["type"]), reference=str(data["reference"]),
            gateway_reference=data.get("id"), status=status,
            amount=int(data["amount"]) if status is PaymentStatus.SUCCEEDED else None,
            currency=data.get("currency"))
