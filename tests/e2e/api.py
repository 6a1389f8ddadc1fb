"""A small client for the HTTP API, used by the end-to-end tests. Every 2xx JSON answer is checked
against the response model its route declares, so the OpenAPI document cannot drift from what the
server sends."""
from __future__ import annotations

import itertools
import re
from urllib.parse import urlsplit

from aiohttp.test_utils import make_mocked_request
from pydantic import BaseModel, RootModel, ValidationError

_emails = itertools.count(1)
#: where a checkout's goods go when a test does not say
HOME = {"NGN": "NG", "GHS": "GH", "KES": "KE", "USD": "US"}


async def ledger(container, payment_id: str) -> list:
    """The payment's ledger rows, read through the configured unit of work (any backend)."""
    from container import resolve

    async with (await resolve(container.storage.uow))() as uow:
        return await uow.ledger.for_payment(payment_id)


def count_gateway_starts(api, monkeypatch) -> list[str]:
    """The references the sandbox is asked to start a payment for, from now on (the test's record
    of gateway calls)."""
    return count_sandbox_calls(api, monkeypatch, "initialize_payment", "reference")


def count_sandbox_payouts(api, monkeypatch) -> list[str]:
    """The refund ids the sandbox is asked to pay out, from now on."""
    return count_sandbox_calls(api, monkeypatch, "refund", "refund_id")


def count_sandbox_calls(api, monkeypatch, method: str, field: str) -> list[str]:
    """``field`` of each request the sandbox's ``method`` is called with from now on (each call still made)."""
    sandbox, calls = api.services.sandbox, []
    real = getattr(sandbox, method)

    async def counted(request):
        calls.append(getattr(request, field))
        return await real(request)
    monkeypatch.setattr(sandbox, method, counted)
    return calls


async def forget_idempotency_records(services) -> None:
    """Simulate a crash that lost every stored Idempotency-Key record (either backend)."""
    store = services.idempotency
    if hasattr(store, "_records"):
        store._records.clear()
        return
    from adapters.postgres import db

    async with db.cursor(store.pool) as cur:
        await db.run(cur, "DELETE FROM idempotency_keys")


def undeclared(value, at: str) -> list[str]:
    """Where a validated answer carries fields its models do not declare (they allow extras)."""
    if isinstance(value, RootModel):
        return undeclared(value.root, at)
    if isinstance(value, BaseModel):
        found = [f"{at}.{name}" for name in value.model_extra or {}]
        for name in type(value).model_fields:
            found += undeclared(getattr(value, name), f"{at}.{name}")
        return found
    if isinstance(value, list):
        return [where for i, item in enumerate(value) for where in undeclared(item, f"{at}[{i}]")]
    if isinstance(value, dict):
        return [where for key, item in value.items() for where in undeclared(item, f"{at}.{key}")]
    return []


class Api:
    def __init__(self, client) -> None:
        self.client = client
        #: who initiated each payment (by reference): the callback answers its owner in full
        self.payers: dict[str, dict] = {}

    @property
    def services(self):
        """The running app's resolved use cases and adapters."""
        from entrypoints.http.keys import SERVICES

        return self.client.server.app[SERVICES]

    async def call(self, method: str, path: str, headers: dict | None = None, expect: int | None = None, **kw):
        resp = await self.client.request(method, path, headers=headers or {}, **kw)
        body = await resp.read()
        if expect is not None:
            assert resp.status == expect, f"{method} {path}: {resp.status} {body[:500]!r}"
        if 200 <= resp.status < 300 and resp.content_type == "application/json" and resp.url.port == self.client.port:
            await self.conforms(resp.method, resp.url.raw_path, body)
        return resp, body

    async def conforms(self, method: str, path: str, body: bytes) -> None:
        """Fail unless ``body`` is what the route answering ``method path`` declares it answers."""
        route = await self.route(method, path)
        assert route is not None and route.response is not None, f"{method} {path}: no route declares this answer"
        try:
            answer = route.response.model_validate_json(body, strict=True)
        except ValidationError as exc:
            raise AssertionError(f"{method} {path}: the answer is not the {route.response.__name__} that "
                                 f"{route.operation_id} declares: {exc}\n{body[:1000]!r}") from None
        extra = undeclared(answer, "")
        assert not extra, f"{method} {path}: {route.response.__name__} does not declare {extra}"

    async def route(self, method: str, path: str):
        """The route of the app's tables that serves ``method path`` (found as the router finds it)."""
        from entrypoints.http.keys import TABLES

        app = self.client.server.app
        match = await app.router.resolve(make_mocked_request(method, path, app=app))
        resource = match.route.resource
        template = resource.canonical if resource is not None else None
        return next((r for table in app[TABLES] for r in table if (r.method, r.path) == (method, template)), None)

    async def json(self, method: str, path: str, headers: dict | None = None, expect: int | None = None, **kw):
        resp, _ = await self.call(method, path, headers, expect, **kw)
        return await resp.json(content_type=None)

    async def user(self, name: str = "Ada", email: str | None = None, password: str = "correct horse battery") -> dict:
        email = email or f"user{next(_emails)}@example.com"
        await self.json("POST", "/api/v1/auth/register", json={"email": email, "password": password, "name": name},
                        expect=201)
        tokens = await self.json("POST", "/api/v1/auth/login", json={"email": email, "password": password}, expect=200)
        return {"Authorization": f"Bearer {tokens['access']}"}

    async def guest(self) -> dict:
        body = await self.json("POST", "/api/v1/auth/guest", expect=201)
        return {"Authorization": f"Bearer {body['access']}"}

    async def order(self, h: dict, items=(("NG-RICE-5KG", 2),), coupon: str | None = None, ship_to: str | None = "NG") -> dict:
        """An order through a checkout. ``ship_to``: the delivery country (None: the home country of
        the items' currency, or no shipping decision for a currency without one); goods need a shipping decision before the checkout confirms."""
        co = await self.json("POST", "/api/v1/checkout/initiate", h,
                             json={"items": [{"sku": s, "quantity": q} for s, q in items]}, expect=201)
        cid = co["checkout_id"]
        if coupon:
            await self.json("POST", "/api/v1/checkout/apply-coupon", h, json={"checkout_id": cid, "code": coupon}, expect=200)
        ship_to = ship_to or HOME.get(co["summary"]["currency"])  # no home: the items must not ship
        if ship_to:
            await self.json("POST", "/api/v1/checkout/calculate-shipping", h, expect=200, json={
                "checkout_id": cid, "address": {"country": ship_to, "city": "Lagos", "line1": "1 Marina"}})
        await self.json("POST", "/api/v1/checkout/calculate-tax", h, json={"checkout_id": cid}, expect=200)
        return await self.json("POST", "/api/v1/checkout/confirm-order", h, json={"checkout_id": cid}, expect=201)

    async def ship(self, h: dict, checkout_id: str, country: str = "NG", expect: int | None = 200) -> dict:
        """The shipping decision a checkout of goods needs before it confirms."""
        return await self.json("POST", "/api/v1/checkout/calculate-shipping", h, expect=expect, json={
            "checkout_id": checkout_id, "address": {"country": country, "city": "Lagos", "line1": "1 Marina"}})

    async def initiate(self, h: dict, order_id: str, key: str, expect: int | None = 201, **extra) -> dict:
        payment = await self.json("POST", "/api/v1/payment/payments/initiate", {**h, "Idempotency-Key": key},
                                  json={"order_id": order_id, **extra}, expect=expect)
        if isinstance(payment, dict) and "reference" in payment:
            self.payers[payment["reference"]] = h
        return payment

    async def sandbox(self, payment: dict, outcome: str) -> dict:
        """Press a button on the hosted page (as a browser would: its CSRF token, with its cookie),
        follow the redirect to the callback (as the payer), return the payment."""
        return await self.json("GET", await self.press(payment, outcome), self.payers.get(payment["reference"]),
                               expect=200)

    async def press(self, payment: dict, outcome: str) -> str:
        """Press a button on the hosted page; returns where it redirects the payer (the callback)."""
        page = urlsplit(payment["authorization_url"]).path
        resp, html = await self.call("GET", page, expect=200)
        assert b"Approve" in html and b"Decline" in html
        csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', html).group(1).decode()
        resp, _ = await self.call("POST", page, data={"outcome": outcome, "csrf": csrf}, allow_redirects=False,
                                  expect=303)
        return resp.headers["Location"]

    async def refund(self, h: dict, payment_id: str, key: str, amount: int | None = None, expect: int | None = 201) -> dict:
        body = {"payment_id": payment_id, "reason": "requested_by_customer"}
        if amount is not None:
            body["amount"] = amount
        return await self.json("POST", "/api/v1/payment/refunds", {**h, "Idempotency-Key": key}, json=body,
                               expect=expect)

    async def kinds(self, h: dict) -> list[str]:
        page = await self.json("GET", "/api/v1/notifications?limit=100", h, expect=200)
        return [n["kind"] for n in reversed(page["results"])]
