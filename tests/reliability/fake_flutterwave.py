"""Flutterwave v3 Standard, as far as the battery needs it: a hosted link on which the customer
may try several times (each attempt its own transaction under our tx_ref, ``charge.completed``
for failures too), verify by id and by reference, the transaction list, refunds.

``by_reference_returns``: which attempt ``verify_by_reference`` shows when there are several
(undocumented; "first" is the unkind choice, so it is the default).
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.reliability.fake_faults import Charge, FakeCore, RefundRecord

NOT_FOUND = {"status": "error", "message": "No transaction was found for this id", "data": None}


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class FakeFlutterwave:
    def __init__(self, core: FakeCore) -> None:
        self.core = core
        self.links: dict[str, dict] = {}
        self.transactions: dict[int, dict] = {}
        self.refunds: dict[int, dict] = {}
        self.links_created = 0
        self.by_reference_returns = "first"
        self.refund_status = "pending"  # "completed" is the documented sample

    def routes(self) -> list[web.RouteDef]:
        p = "/flutterwave/v3"
        return [web.post(f"{p}/payments", self.create_link),
                web.get(f"{p}/transactions/verify_by_reference", self.verify_by_reference),
                web.get(f"{p}/transactions", self.list_transactions),
                web.get(f"{p}/transactions/{{id}}/verify", self.verify),
                web.post(f"{p}/transactions/{{id}}/refund", self.create_refund),
                web.get(f"{p}/refunds", self.list_refunds),
                web.get(f"{p}/refunds/{{id}}", self.get_refund)]

    # -- the customer -----------------------------------------------------------------------------------
    def attempts(self, tx_ref: str) -> list[dict]:
        return sorted((t for t in self.transactions.values() if t["tx_ref"] == tx_ref), key=lambda t: t["id"])

    def link_open(self, tx_ref: str) -> bool:
        link = self.links.get(tx_ref)
        if link is None:
            return False
        attempts = self.attempts(tx_ref)
        if any(t["status"] == "successful" for t in attempts):
            return False
        if link["max_retry_attempt"] is not None and \
                sum(t["status"] == "failed" for t in attempts) > link["max_retry_attempt"]:
            return False
        minutes = link["session_duration"]
        return minutes is None or self.core.now() < link["created_at"] + minutes * 60

    def attempt(self, tx_ref: str, status: str, processor_response: str | None = None) -> bytes | None:
        """The customer tries on the link; the ``charge.completed`` webhook body, or None when the
        link no longer takes attempts."""
        if not self.link_open(tx_ref):
            return None
        link, tx_id = self.links[tx_ref], self.core.next_id()
        self.transactions[tx_id] = txn = {
            "id": tx_id, "tx_ref": tx_ref, "flw_ref": f"FLW-MOCK-{tx_id}", "amount": _num(link["amount"]),
            "charged_amount": _num(link["amount"]), "currency": link["currency"], "status": status,
            "processor_response": processor_response or ("Approved" if status == "successful" else "Declined"),
            "payment_type": "card", "created_at": "2026-01-01T12:00:00.000Z",
            "customer": {"email": link["customer"].get("email")}}
        if status == "successful":
            self.core.charges.append(Charge("flutterwave", tx_ref, link["amount"], link["currency"], str(tx_id)))
        return json.dumps({"event": "charge.completed", "data": txn, "event.type": "CARD_TRANSACTION"}).encode()

    def settle_refund(self, refund_id: int, status: str) -> None:
        self.refunds[refund_id]["status"] = status
        for record in self.core.refunds:
            if record.gateway_id == str(refund_id):
                record.status = status

    # -- endpoints -------------------------------------------------------------------------------------
    async def create_link(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read(), parse_float=Decimal)

        async def endpoint() -> tuple[int, Any]:
            self.links_created += 1
            self.links[body["tx_ref"]] = {
                "tx_ref": body["tx_ref"], "amount": Decimal(str(body["amount"])), "currency": body.get("currency", "NGN"),
                "session_duration": body.get("session_duration"), "max_retry_attempt": body.get("max_retry_attempt"),
                "customer": body.get("customer") or {}, "created_at": self.core.now()}
            link = f"{self.core.url('flutterwave')}/hosted/pay/{body['tx_ref']}"
            return 200, {"status": "success", "message": "Hosted Link", "data": {"link": link}}
        return await self.core.run(request, "flutterwave.payments.create", endpoint)

    async def verify_by_reference(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            attempts = self.attempts(request.query.get("tx_ref", ""))
            if not attempts:
                return 400, NOT_FOUND
            shown = attempts[0] if self.by_reference_returns == "first" else attempts[-1]
            return 200, {"status": "success", "message": "Transaction fetched successfully", "data": shown}
        return await self.core.run(request, "flutterwave.verify_by_reference", endpoint)

    async def verify(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            txn = self.transactions.get(int(request.match_info["id"]))
            return (200, {"status": "success", "message": "Transaction fetched successfully", "data": txn}
                    ) if txn else (400, NOT_FOUND)
        return await self.core.run(request, "flutterwave.verify", endpoint)

    async def list_transactions(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            tx_ref = request.query.get("tx_ref")
            data = [t for t in self.transactions.values() if tx_ref in (None, t["tx_ref"])][::-1]
            return 200, {"status": "success", "message": "Transactions fetched", "data": data,
                         "meta": {"page_info": {"total": len(data), "current_page": 1, "total_pages": 1}}}
        return await self.core.run(request, "flutterwave.transactions.list", endpoint)

    async def create_refund(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read() or b"{}", parse_float=Decimal)

        async def endpoint() -> tuple[int, Any]:
            txn = self.transactions.get(int(request.match_info["id"]))
            if txn is None or txn["status"] != "successful":
                return 400, {"status": "error", "message": "Transaction cannot be refunded", "data": None}
            done = sum(Decimal(str(r["amount_refunded"])) for r in self.refunds.values()
                       if r["tx_id"] == txn["id"] and r["status"] != "failed")
            amount = Decimal(str(body.get("amount", txn["amount"])))
            if amount > Decimal(str(txn["amount"])) - done:
                return 400, {"status": "error", "message": "Refund amount exceeds the amount left", "data": None}
            refund_id = self.core.next_id()
            self.refunds[refund_id] = refund = {
                "id": refund_id, "account_id": 73362, "tx_id": txn["id"], "flw_ref": f"URF_{refund_id}",
                "wallet_id": 74639, "amount_refunded": _num(amount), "status": self.refund_status,
                "destination": "payment_source", "comments": body.get("comments"),
                "meta": {"source": "availablebalance"}, "created_at": "2026-01-01T12:10:00.000Z"}
            comment = str(body.get("comments") or "")
            ours = comment[comment.rfind("(") + 1:-1] if comment.endswith(")") else None
            self.core.refunds.append(RefundRecord("flutterwave", txn["tx_ref"], ours, amount, txn["currency"],
                                                  str(refund_id), self.refund_status))
            return 200, {"status": "success", "message": "Transaction refund initiated", "data": refund}
        return await self.core.run(request, "flutterwave.refunds.create", endpoint)

    async def get_refund(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            refund = self.refunds.get(int(request.match_info["id"]))
            return (200, {"status": "success", "message": "Refund fetched", "data": refund}) if refund else (
                404, {"status": "error", "message": "Refund not found", "data": None})
        return await self.core.run(request, "flutterwave.refunds.retrieve", endpoint)

    async def list_refunds(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            data = list(self.refunds.values())[::-1] if request.query.get("page", "1") == "1" else []
            return 200, {"status": "success", "message": "Refunds fetched", "data": data}
        return await self.core.run(request, "flutterwave.refunds.list", endpoint)
