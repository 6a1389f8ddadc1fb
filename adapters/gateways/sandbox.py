"""The sandbox gateway: in-process, deterministic, with a hosted payment page (approve / decline)
and scripted behaviours a tester picks there (slow, timeout, decline with a reason, outcome after
a delay: ``sandbox_script``).

Its transactions live in a key-value ``Cache`` (memory, or Redis so several API processes agree).
Settling one produces a webhook signed like Stripe's scheme: header
``Payport-Sandbox-Signature: t=<unix>,v1=<hex HMAC-SHA256 of f"{t}." + raw body>``.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping

from adapters.gateways.base import loads
from adapters.gateways.sandbox_script import DECLINED, Script
from application.errors import GatewayTimeout, NotFound
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
DEFAULT_SHOP_NAME = "payport demo shop"
#: the references whose delayed outcome has not been delivered yet
DELAYED = "sandbox:delayed"
_STATUS = {"pending": PaymentStatus.REQUIRES_ACTION, "processing": PaymentStatus.PROCESSING,
           "approved": PaymentStatus.SUCCEEDED, "declined": PaymentStatus.FAILED, "expired": PaymentStatus.EXPIRED}


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class SandboxGateway:
    name = "sandbox"
    currencies = frozenset(CURRENCY_EXPONENTS)
    weak_webhook_auth = False
    idempotent_refunds = True
    can_expire = True  # a pending sandbox page is closed by expire_payment

    def __init__(self, store: Cache, webhook_secret: str, public_url: str, clock: Clock,
                 shop_name: str = DEFAULT_SHOP_NAME, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.store, self.secret, self.clock = store, webhook_secret, clock
        self.public_url = public_url.rstrip("/")
        self.shop_name = shop_name or DEFAULT_SHOP_NAME
        #: how a slow answer waits (a test's fake clock may stand in)
        self.sleep = sleep

    def _key(self, reference: str) -> str:
        return f"sandbox:txn:{reference}"

    def _now(self) -> float:
        return self.clock.now().timestamp()

    async def transaction(self, reference: str) -> dict | None:
        """The transaction as it stands now: a delayed outcome that is due has happened."""
        raw = await self.store.get(self._key(reference))
        txn = json.loads(raw) if raw else None
        if txn is not None and txn["status"] == "processing" and self._now() >= txn["settle_at"]:
            txn["status"] = txn.pop("final")
            await self._put(txn)
        return txn

    async def _put(self, txn: dict) -> None:
        await self.store.set(self._key(txn["reference"]), json.dumps(txn).encode(), TTL)

    async def initialize_payment(self, request: InitializePayment) -> InitializedPayment:
        txn = await self.transaction(request.reference)
        if txn is None:  # idempotent by reference: a retry gets the same page
            txn = {"reference": request.reference, "id": "sbx_" + hashlib.sha256(request.reference.encode()).hexdigest()[:20],
                   "amount": request.amount, "currency": request.currency, "status": "pending",
                   "callback_url": request.callback_url, "description": request.description, "refunded": 0,
                   "order_number": request.metadata.get("order_number"),
                   "items": [list(item) for item in request.items]}
            await self._put(txn)
        return InitializedPayment(_STATUS[txn["status"]], txn["id"], f"{self.public_url}/sandbox/pay/{request.reference}")

    def callback_gateway_reference(self, params: Mapping[str, str]) -> str | None:
        return None

    async def verify_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        txn = await self.transaction(reference)
        if txn is None:
            return VerifiedPayment(PaymentStatus.REQUIRES_PAYMENT_METHOD, None, None, None, "not_found",
                                   "sandbox: unknown reference", found=False)
        if self._now() < txn.get("silent_until", 0):  # scripted: the status check gets no answer in time
            raise GatewayTimeout("sandbox: the status check timed out (scripted timeout)", gateway=self.name)
        status = _STATUS[txn["status"]]
        return VerifiedPayment(status, txn["amount"] if status is PaymentStatus.SUCCEEDED else None,
                               txn["currency"], txn["id"], txn["status"],
                               (txn.get("reason") or DECLINED) if txn["status"] == "declined" else None)

    async def expire_payment(self, reference: str, gateway_reference: str | None) -> VerifiedPayment:
        """Close a pending page (Approve no longer works); report what it is now."""
        txn = await self.transaction(reference)
        if txn is not None and txn["status"] == "pending":
            txn["status"] = "expired"
            await self._put(txn)
        return await self.verify_payment(reference, gateway_reference)

    async def settle(self, reference: str, approve: bool, script: Script = Script()
                     ) -> tuple[dict, dict[str, str] | None, bytes | None]:
        """The customer pressed Approve or Decline with ``script``: returns (transaction, webhook
        headers, webhook body) of the webhook to deliver now; (transaction, None, None) while the
        script holds it back."""
        txn = await self.transaction(reference)
        if txn is None:
            raise NotFound("no sandbox payment with this reference")
        if txn["status"] == "pending":
            if script.behaviour == "slow":
                await self.sleep(script.seconds)
                txn = await self.transaction(reference) or txn  # expired meanwhile: expired it stays
        if txn["status"] == "pending":
            outcome = "approved" if approve else "declined"
            if not approve and script.reason:
                txn["reason"] = script.reason
            txn["script"] = script.behaviour
            if script.behaviour == "delayed":
                txn.update(status="processing", final=outcome, settle_at=self._now() + script.seconds)
                await self._put(txn)
                await self._remember_delayed(reference)
            else:
                txn["status"] = outcome
                if script.behaviour == "timeout":
                    txn["silent_until"] = self._now() + script.seconds
                await self._put(txn)
        if txn["status"] == "processing" or self._now() < txn.get("silent_until", 0):
            return txn, None, None  # the gateway says nothing yet
        return txn, *self.webhook(txn)

    def webhook(self, txn: dict) -> tuple[dict[str, str], bytes]:
        """The signed webhook reporting ``txn``'s status."""
        data = {"reference": txn["reference"], "id": txn["id"], "amount": txn["amount"],
                "currency": txn["currency"], "status": txn["status"]}
        if txn["status"] == "declined":
            data["reason"] = txn.get("reason") or DECLINED
        body = json.dumps({"id": f"evt_{txn['id']}_{txn['status']}", "type": f"payment.{txn['status']}",
                           "data": data}, separators=(",", ":")).encode()
        return {SIGNATURE_HEADER: sign(self.secret, body, int(self._now()))}, body

    # -- delayed outcomes: remembered here, delivered by ``sandbox_script.deliver_due`` --------------
    async def delayed(self) -> list[str]:
        raw = await self.store.get(DELAYED)
        return json.loads(raw) if raw else []

    async def _remember_delayed(self, reference: str) -> None:
        # read, then write: two processes adding at the same instant may lose one; that payment is
        # then settled by the worker's status query instead of the webhook (sandbox only)
        await self.store.set(DELAYED, json.dumps([*await self.delayed(), reference]).encode(), TTL)

    async def forget_delayed(self, reference: str) -> None:
        await self.store.set(DELAYED, json.dumps([r for r in await self.delayed() if r != reference]).encode(), TTL)

    async def due_webhook(self, reference: str) -> tuple[dict[str, str], bytes] | None | bool:
        """The webhook of ``reference``'s delayed outcome once it is due; None before; False when
        there is nothing to deliver (the transaction is gone)."""
        txn = await self.transaction(reference)
        if txn is None:
            return False
        if txn["status"] == "processing":
            return None
        return self.webhook(txn)

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
            currency=data.get("currency"), error=data.get("reason"))
