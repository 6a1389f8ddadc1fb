"""MTN MoMo Collection, as far as the battery needs it: the token, request-to-pay keyed by our
``X-Reference-Id`` (a repeat answers 409 RESOURCE_ALREADY_EXIST) and its status.

A push gateway's 5xx is the case the battery wants: ``server_error(500, stored=True)`` makes the
fake put the prompt on the payer's handset and *then* answer 500 (the request-to-pay exists and the
payer may approve it). The payer approves or declines on the handset with ``approve``/``decline``.
"""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.reliability.fake_faults import Charge, FakeCore


class FakeMomo:
    def __init__(self, core: FakeCore) -> None:
        self.core = core
        self.requests: dict[str, dict] = {}  # by X-Reference-Id

    def routes(self) -> list[web.RouteDef]:
        p = "/mtn_momo"
        return [web.post(f"{p}/collection/token/", self.token),
                web.post(f"{p}/collection/v1_0/requesttopay", self.request_to_pay),
                web.get(f"{p}/collection/v1_0/requesttopay/{{id}}", self.status)]

    # -- the payer's handset -------------------------------------------------------------------------
    def by_reference(self, reference: str) -> dict | None:
        return next((r for r in self.requests.values() if r["externalId"] == reference), None)

    def approve(self, reference: str) -> bool:
        """The payer approves the prompt on the handset; False when there is no prompt to approve."""
        found = self.by_reference(reference)
        if found is None or found["status"] != "PENDING":
            return False
        found.update(status="SUCCESSFUL", financialTransactionId=str(self.core.next_id()))
        self.core.charges.append(Charge("mtn_momo", reference, found["amount"], found["currency"], found["id"]))
        return True

    # -- endpoints ---------------------------------------------------------------------------------------
    async def token(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"access_token": "momo_fake_token", "token_type": "access_token",
                                  "expires_in": 3600})

    async def request_to_pay(self, request: web.Request) -> web.StreamResponse:
        ref_id, body = request.headers.get("X-Reference-Id", ""), json.loads(await request.read())
        fault = self.core.fault_for("mtn_momo.requesttopay")
        stored = fault is not None and fault.kind == "status" and fault.stored
        if not stored:
            early = await self.core.before(fault)
            if early is not None:
                return early
        if ref_id in self.requests:
            return web.json_response({"code": "RESOURCE_ALREADY_EXIST", "message": "Duplicated reference id. "
                                      "Creation of resource failed."}, status=409)
        self.requests[ref_id] = {"id": ref_id, "amount": body["amount"], "currency": body["currency"],
                                 "externalId": body["externalId"], "payer": body["payer"], "status": "PENDING"}
        if stored:  # the prompt is on the handset; the answer is lost in a server error
            return web.json_response({"code": "INTERNAL_PROCESSING_ERROR", "message": "server error"},
                                     status=fault.status)
        return await self.core.deliver(request, fault, 202, None)

    async def status(self, request: web.Request) -> web.StreamResponse:
        async def endpoint() -> tuple[int, Any]:
            found = self.requests.get(request.match_info["id"])
            if found is None:
                return 404, {"code": "RESOURCE_NOT_FOUND", "message": "Requested resource was not found."}
            return 200, {k: v for k, v in found.items() if k != "id"}
        return await self.core.run(request, "mtn_momo.status", endpoint)
