"""Stripe, as far as the battery needs it: Checkout Sessions (create with Idempotency-Key replay,
retrieve with expand, list, expire), PaymentIntents, refunds (keys pruned after ``key_ttl``).

Idempotency as documented: the first result of an executed endpoint is stored (a 5xx included)
and replayed for the same key and parameters; other parameters answer 400 ``idempotency_error``;
a key in use by a request still running answers 409; a request refused by validation stores
nothing; a key older than ``key_ttl`` is forgotten and the request is a new one.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.reliability.fake_faults import Charge, FakeCore, RefundRecord

Endpoint = Callable[[], Awaitable[tuple[int, Any, bool]]]  # (status, body, stored)


def error(status: int, type_: str, message: str, stored: bool = False, **kw: Any) -> tuple[int, Any, bool]:
    """A Stripe error body; ``stored``: the endpoint ran, so the key keeps this answer."""
    return status, {"error": {"type": type_, "message": message, **kw}}, stored


class FakeStripe:
    def __init__(self, core: FakeCore) -> None:
        self.core = core
        self.sessions: dict[str, dict] = {}
        self.intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.keys: dict[str, dict] = {}
        self.key_ttl = 24 * 3600.0
        self.refund_status = "pending"  # what a new refund reports first
        self.scheduled: list[tuple[float, str]] = []  # (when, session id): the customer pays then

    def routes(self) -> list[web.RouteDef]:
        p = "/stripe/v1"
        return [web.post(f"{p}/checkout/sessions", self.create_session),
                web.get(f"{p}/checkout/sessions", self.list_sessions),
                web.get(f"{p}/checkout/sessions/{{id}}", self.get_session),
                web.post(f"{p}/checkout/sessions/{{id}}/expire", self.expire_session),
                web.get(f"{p}/payment_intents/{{id}}", self.get_intent),
                web.post(f"{p}/refunds", self.create_refund),
                web.get(f"{p}/refunds", self.list_refunds),
                web.get(f"{p}/refunds/{{id}}", self.get_refund)]

    # -- the customer and the passing of time ----------------------------------------------------------
    def tick(self) -> None:
        now = self.core.now()
        for session in self.sessions.values():
            if session["status"] == "open" and now >= session["expires_at"]:
                session["status"] = "expired"
        due = [s for at, s in self.scheduled if at <= now]
        self.scheduled = [(at, s) for at, s in self.scheduled if at > now]
        for session_id in due:
            self.pay(session_id)

    def pay(self, session_id: str, method: str = "card") -> bool:
        """The customer pays on the hosted page; False when the page no longer takes money."""
        self.tick()
        session = self.sessions[session_id]
        if session["status"] != "open":
            return False
        intent_id = f"pi_{self.core.next_id()}"
        self.intents[intent_id] = {
            "id": intent_id, "object": "payment_intent", "status": "succeeded", "amount": session["amount_total"],
            "amount_received": session["amount_total"], "currency": session["currency"],
            "metadata": {"reference": session["client_reference_id"]},
            "payment_method": {"id": f"pm_{intent_id}", "type": method}}
        session.update(status="complete", payment_status="paid", payment_intent=intent_id)
        self.core.charges.append(Charge("stripe", session["client_reference_id"], session["amount_total"],
                                        session["currency"], intent_id))
        return True

    def pay_after(self, session_id: str, seconds: float) -> None:
        self.scheduled.append((self.core.now() + seconds, session_id))

    def settle_refund(self, refund_id: str, status: str, failure_reason: str | None = None) -> None:
        self.refunds[refund_id].update(status=status, failure_reason=failure_reason)
        for record in self.core.refunds:
            if record.gateway_id == refund_id:
                record.status = status

    # -- idempotency --------------------------------------------------------------------------------
    def _entry(self, key: str | None) -> dict | None:
        entry = self.keys.get(key) if key else None
        if entry is not None and not entry["in_flight"] and self.core.now() - entry["at"] >= self.key_ttl:
            del self.keys[key]  # pruned: the next request with it is a new one
            return None
        return entry

    async def idempotent(self, request: web.Request, operation: str, params: dict, endpoint: Endpoint
                         ) -> web.StreamResponse:
        core, key = self.core, request.headers.get("Idempotency-Key")
        self.tick()
        fault = core.fault_for(operation)
        if fault is not None and fault.kind == "key_expired":
            self.keys.pop(key or "", None)
            fault = None
        entry = self._entry(key)
        if entry is not None and entry["in_flight"]:
            return web.json_response({"error": {"type": "invalid_request_error", "code": "idempotency_key_in_use",
                                                "message": "There is currently another in-progress request "
                                                           "using this Idempotent Key"}}, status=409)
        if fault is not None and fault.kind != "delay" and not (fault.kind == "status" and fault.stored):
            early = await core.before(fault)
            if early is not None:
                return early
        if entry is not None:
            if entry["params"] != params:
                _, body, _ = error(400, "idempotency_error", "Keys for idempotent requests can only be used with "
                                   "the same parameters they were first used with.")
                return web.json_response(body, status=400)
            if fault is not None and fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
            return await core.deliver(request, fault, entry["status"], entry["body"])
        if key:
            self.keys[key] = {"params": params, "in_flight": True, "at": core.now()}
        try:
            if fault is not None and fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
            if fault is not None and fault.kind == "status":  # the endpoint failed: Stripe stores a 5xx too
                status, body, stored = fault.status, {"error": {"type": "api_error", "message": "server error"}}, True
            else:
                status, body, stored = await endpoint()
        except BaseException:
            self.keys.pop(key or "", None)  # cancelled before the endpoint committed: nothing stored
            raise
        if key:
            if stored:
                self.keys[key] = {"params": params, "in_flight": False, "at": core.now(), "status": status,
                                  "body": body}
            else:
                self.keys.pop(key, None)
        return await core.deliver(request, fault, status, body)

    # -- checkout sessions ------------------------------------------------------------------------------
    async def create_session(self, request: web.Request) -> web.StreamResponse:
        form = dict(await request.post())

        async def endpoint() -> tuple[int, Any, bool]:
            now = self.core.now()
            expires_at = int(form.get("expires_at") or now + 24 * 3600)
            if not now + 30 * 60 <= expires_at <= now + 24 * 3600:
                return error(400, "invalid_request_error", "expires_at must be between 30 minutes and 24 hours "
                             "from now", param="expires_at")
            session_id = f"cs_test_{self.core.next_id()}"
            self.sessions[session_id] = session = {
                "id": session_id, "object": "checkout.session", "url": f"{self.core.url('stripe')}/pay/{session_id}",
                "status": "open", "payment_status": "unpaid", "client_reference_id": form.get("client_reference_id"),
                "amount_total": int(form["line_items[0][price_data][unit_amount]"]) * int(form["line_items[0][quantity]"]),
                "currency": form["line_items[0][price_data][currency]"], "payment_intent": None,
                "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
                "expires_at": expires_at, "created": int(now)}
            return 200, session, True
        return await self.idempotent(request, "stripe.checkout.create", form, endpoint)

    def _session_view(self, session: dict, expand: list[str]) -> dict:
        view = dict(session)
        intent = self.intents.get(session["payment_intent"] or "")
        if intent is not None and ("payment_intent" in expand or "payment_intent.payment_method" in expand):
            view["payment_intent"] = dict(intent)
            if "payment_intent.payment_method" not in expand:
                view["payment_intent"]["payment_method"] = intent["payment_method"]["id"]
        return view

    async def get_session(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            self.tick()
            session = self.sessions.get(request.match_info["id"])
            if session is None:
                return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                       "message": f"No such checkout.session: '{request.match_info['id']}'"}}
            return 200, self._session_view(session, request.query.getall("expand[]", []))
        return await self.core.run(request, "stripe.checkout.retrieve", endpoint)

    async def list_sessions(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            self.tick()
            intent = request.query.get("payment_intent")
            data = [s for s in self.sessions.values() if intent in (None, s["payment_intent"])]
            return 200, {"object": "list", "url": "/v1/checkout/sessions", "has_more": False, "data": data[::-1]}
        return await self.core.run(request, "stripe.checkout.list", endpoint)

    async def expire_session(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            self.tick()
            session = self.sessions.get(request.match_info["id"])
            if session is None:
                return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
            if session["status"] != "open":
                return 400, {"error": {"type": "invalid_request_error", "message": "Only Checkout Sessions with "
                                       "a status in [\"open\"] can be expired."}}
            session["status"] = "expired"
            return 200, dict(session)
        return await self.core.run(request, "stripe.checkout.expire", endpoint)

    async def _retrieve(self, request: web.Request, operation: str, store: dict[str, dict]) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            found = store.get(request.match_info["id"])
            return (200, found) if found else (404, {"error": {"type": "invalid_request_error",
                                                               "code": "resource_missing"}})
        return await self.core.run(request, operation, endpoint)

    async def get_intent(self, request: web.Request) -> web.StreamResponse:
        return await self._retrieve(request, "stripe.payment_intents.retrieve", self.intents)

    # -- refunds -------------------------------------------------------------------------------------
    async def create_refund(self, request: web.Request) -> web.StreamResponse:
        form = dict(await request.post())

        async def endpoint() -> tuple[int, Any, bool]:
            intent = self.intents.get(form.get("payment_intent", ""))
            if intent is None or intent["status"] != "succeeded":
                return error(400, "invalid_request_error", "No such payment_intent", code="resource_missing")
            done = sum(r["amount"] for r in self.refunds.values()
                       if r["payment_intent"] == intent["id"] and r["status"] not in ("failed", "canceled"))
            amount, left = int(form.get("amount") or intent["amount"] - done), intent["amount"] - done
            if left <= 0:
                return error(400, "invalid_request_error", f"Charge for {intent['id']} has already been refunded.",
                             stored=True, code="charge_already_refunded")
            if amount > left:
                return error(400, "invalid_request_error", f"Refund amount ({amount}) is greater than unrefunded "
                             f"amount on charge ({left})", stored=True, code="amount_too_large", param="amount")
            refund_id = f"re_{self.core.next_id()}"
            meta = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
            self.refunds[refund_id] = refund = {
                "id": refund_id, "object": "refund", "amount": amount, "currency": intent["currency"],
                "status": self.refund_status, "payment_intent": intent["id"], "charge": f"ch_{intent['id'][3:]}",
                "metadata": meta, "failure_reason": None, "created": int(self.core.now()), "seq": self.core.next_id()}
            self.core.refunds.append(RefundRecord("stripe", intent["metadata"]["reference"], meta.get("refund_id"),
                                                  amount, intent["currency"], refund_id, self.refund_status))
            return 200, refund, True
        return await self.idempotent(request, "stripe.refunds.create", form, endpoint)

    async def get_refund(self, request: web.Request) -> web.StreamResponse:
        return await self._retrieve(request, "stripe.refunds.retrieve", self.refunds)

    async def list_refunds(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            q = request.query
            data = sorted((r for r in self.refunds.values() if q.get("payment_intent") in (None, r["payment_intent"])),
                          key=lambda r: r["seq"], reverse=True)
            if q.get("starting_after"):
                ids = [r["id"] for r in data]
                data = data[ids.index(q["starting_after"]) + 1:] if q["starting_after"] in ids else []
            limit = int(q.get("limit", 10))
            return 200, {"object": "list", "url": "/v1/refunds", "has_more": len(data) > limit, "data": data[:limit]}
        return await self.core.run(request, "stripe.refunds.list", endpoint)

