"""Paystack, as far as the battery needs it: initialize (unique reference), verify ("Transaction
reference not found"), refunds with ``merchant_note`` (fetch, list by transaction, retry with the
customer's details) and the documented refund webhooks, which carry no refund id."""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from aiohttp import web

from tests.reliability.fake_faults import Charge, FakeCore, RefundRecord

NOT_FOUND = {"status": False, "message": "Transaction reference not found", "type": "validation_error",
             "code": "transaction_not_found"}


class FakePaystack:
    def __init__(self, core: FakeCore, secret_key: str = "sk_test_fake_paystack") -> None:
        self.core, self.secret_key = core, secret_key
        self.transactions: dict[str, dict] = {}  # by reference
        self.refunds: dict[int, dict] = {}
        self._paid_by: dict[int, str] = {}  # refund id -> the transaction's reference

    def routes(self) -> list[web.RouteDef]:
        p = "/paystack"
        return [web.post(f"{p}/transaction/initialize", self.initialize),
                web.get(f"{p}/transaction/verify/{{reference}}", self.verify),
                web.post(f"{p}/refund", self.create_refund),
                web.get(f"{p}/refund", self.list_refunds),
                web.get(f"{p}/refund/{{id}}", self.get_refund),
                web.post(f"{p}/refund/retry_with_customer_details/{{id}}", self.retry_refund)]

    # -- the customer and Paystack's back office ---------------------------------------------------------
    def pay(self, reference: str, channel: str = "card") -> None:
        """The customer pays: nothing at Paystack closes a page, so this works at any time."""
        txn = self.transactions[reference]
        if txn["status"] != "success":
            txn.update(status="success", channel=channel, gateway_response="Approved")
            self.core.charges.append(Charge("paystack", reference, txn["amount"], txn["currency"], str(txn["id"])))

    def refund_event(self, refund_id: int, status: str) -> tuple[dict[str, str], bytes]:
        """Move a refund on and return its webhook (headers, body) as Paystack documents it:
        ``transaction_reference`` and amount, but neither the refund id nor the merchant note
        (``refund.needs-attention`` alone names the refund)."""
        refund = self.refunds[refund_id]
        refund["status"] = status
        for record in self.core.refunds:
            if record.gateway_id == str(refund_id):
                record.status = status
        data: dict[str, Any] = {
            "status": status, "transaction_reference": self._paid_by[refund_id],
            "refund_reference": f"TRF_{refund_id}" if status in ("processed", "failed") else None,
            "amount": str(refund["amount"]), "currency": refund["currency"], "processor": "instant-transfer",
            "customer": {"first_name": "Ada", "last_name": "L", "email": "ada@example.com"},
            "integration": 412829, "domain": "test"}
        if status == "needs-attention":
            data["id"] = refund_id
        body = json.dumps({"event": f"refund.{status}", "data": data}).encode()
        signature = hmac.new(self.secret_key.encode(), body, hashlib.sha512).hexdigest()
        return {"x-paystack-signature": signature}, body

    # -- endpoints -------------------------------------------------------------------------------------
    async def initialize(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())

        async def endpoint() -> tuple[int, Any]:
            if body["reference"] in self.transactions:
                return 400, {"status": False, "message": "Duplicate Transaction Reference"}
            txn_id = self.core.next_id()
            self.transactions[body["reference"]] = {
                "id": txn_id, "reference": body["reference"], "amount": int(body["amount"]),
                "currency": body.get("currency", "NGN"), "status": "abandoned", "channel": None,
                "gateway_response": "The transaction was not completed"}
            return 200, {"status": True, "message": "Authorization URL created", "data": {
                "authorization_url": f"{self.core.url('paystack')}/checkout/{txn_id}", "access_code": f"ac_{txn_id}",
                "reference": body["reference"]}}
        return await self.core.run(request, "paystack.initialize", endpoint)

    async def verify(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            txn = self.transactions.get(request.match_info["reference"])
            return (200, {"status": True, "message": "Verification successful", "data": txn}) if txn else (
                400, NOT_FOUND)
        return await self.core.run(request, "paystack.verify", endpoint)

    def _transaction(self, key: Any) -> dict | None:
        return next((t for t in self.transactions.values() if str(t["id"]) == str(key) or t["reference"] == key), None)

    async def create_refund(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())

        async def endpoint() -> tuple[int, Any]:
            txn = self._transaction(body.get("transaction"))
            if txn is None or txn["status"] != "success":
                return 400, {"status": False, "message": "Transaction has not been paid or does not exist"}
            done = sum(r["amount"] for r in self.refunds.values() if r["transaction"] == txn["id"]
                       and r["status"] != "failed")
            amount = int(body.get("amount", txn["amount"] - done))
            if amount > txn["amount"] - done:
                return 400, {"status": False, "message": "Refund amount cannot be more than the amount left"}
            refund_id = self.core.next_id()
            note = body.get("merchant_note") or ""
            self.refunds[refund_id] = refund = {
                "id": refund_id, "integration": 412829, "transaction": txn["id"], "domain": "test",
                "currency": txn["currency"], "amount": amount, "status": "pending", "merchant_note": note,
                "customer_note": body.get("customer_note") or f"Refund for transaction {txn['reference']}",
                "deducted_amount": amount, "refunded_at": None}
            self._paid_by[refund_id] = txn["reference"]
            ours = note.partition(":")[0].strip() if ":" in note else None
            self.core.refunds.append(RefundRecord("paystack", txn["reference"], ours, amount, txn["currency"],
                                                  str(refund_id), "pending"))
            return 200, {"status": True, "message": "Refund has been queued for processing", "data": refund}
        return await self.core.run(request, "paystack.refunds.create", endpoint)

    async def get_refund(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            refund = self.refunds.get(int(request.match_info["id"]))
            return (200, {"status": True, "message": "Refund retrieved", "data": refund}) if refund else (
                404, {"status": False, "message": "Refund not found"})
        return await self.core.run(request, "paystack.refunds.retrieve", endpoint)

    async def list_refunds(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            transaction = request.query.get("transaction")
            data = [r for r in self.refunds.values() if transaction in (None, str(r["transaction"]))][::-1]
            return 200, {"status": True, "message": "Refunds retrieved", "data": data,
                         "meta": {"total": len(data), "page": 1, "pageCount": 1}}
        return await self.core.run(request, "paystack.refunds.list", endpoint)

    async def retry_refund(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())

        async def endpoint() -> tuple[int, Any]:
            refund = self.refunds.get(int(request.match_info["id"]))
            if refund is None or refund["status"] != "needs-attention" or "refund_account_details" not in body:
                return 400, {"status": False, "message": "Refund cannot be retried"}
            refund["status"] = "processing"
            return 200, {"status": True, "message": "Refund retried and has been queued for processing",
                         "data": refund}
        return await self.core.run(request, "paystack.refunds.retry", endpoint)
