"""A typed Python client generated from the live ``/openapi.json`` (openapi-python-client, into a
temporary folder, never committed) runs the README's payment story against the app on a real port:
sign up, log in, a cart checked out with a coupon and shipping, a payment on the sandbox approved,
the order paid, refunded in two steps. The document and the server must agree for it to pass: the
generator fails on any warning; every answer must carry a status the operation documents (the
client raises otherwise) and parse as its documented model; and every body is validated against the
operation's schema in that same document (``jsonschema_rs``, which schemathesis brings)."""
from __future__ import annotations

import asyncio
import hashlib
import importlib
import re
import socket
import sys
from pathlib import Path

import httpx
import jsonschema_rs
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

import container as composition
from entrypoints.http.app import create_app
from tests.e2e.conftest import FAST

PACKAGE = "payport_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
#: no post-hooks: the generated code is imported, not formatted
CONFIG = f"package_name_override: {PACKAGE}\nproject_name_override: {PACKAGE}\npost_hooks: []\n"
_GENERATED: dict[str, object] = {}  # document digest -> the imported package (generated once per session)


async def generate(document: bytes, folder: Path):
    """The client package generated from ``document``, imported; made once per document a session."""
    digest = hashlib.sha256(document).hexdigest()
    if digest in _GENERATED:
        return _GENERATED[digest]
    assert GENERATOR.exists(), "openapi-python-client is in the test extras: pip install -e '.[test]'"
    (folder / "openapi.json").write_bytes(document)
    (folder / "config.yaml").write_text(CONFIG)
    proc = await asyncio.create_subprocess_exec(
        str(GENERATOR), "generate", "--path", str(folder / "openapi.json"), "--config", str(folder / "config.yaml"),
        "--meta", "none", "--output-path", str(folder / PACKAGE), "--fail-on-warning",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=100)
    assert proc.returncode == 0, f"the document does not generate a client cleanly:\n{out.decode()}"
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    _GENERATED[digest] = importlib.import_module(PACKAGE)
    return _GENERATED[digest]


class Conformance:
    """Checks each answer against the live document: the status documented for its operation, the
    body valid for that answer's schema. Collects what does not conform (an httpx response hook)."""

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.templates = [(re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", path) + "$"), path) for path in spec["paths"]]
        self.checked: list[str] = []
        self.drift: list[str] = []

    def answer_of(self, method: str, path: str, status: int) -> dict | None:
        paths = self.spec["paths"]
        # a literal path before templates (/checkout/apply-coupon is not /checkout/{checkout_id})
        candidates = [path] + [t for pattern, t in self.templates if pattern.match(path)]
        operation = next((paths[t][method.lower()] for t in candidates if method.lower() in paths.get(t, {})), None)
        if operation is None:
            return None
        responses = operation["responses"]
        answer = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
        if answer is not None and "$ref" in answer:
            answer = self.spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
        return answer

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        where = f"{request.method} {request.url.path} -> {response.status_code}"
        self.checked.append(where)
        answer = self.answer_of(request.method, request.url.path, response.status_code)
        if answer is None:
            self.drift.append(f"{where}: not documented")
            return
        content = answer.get("content") or {}
        media = response.headers.get("Content-Type", "").split(";")[0]
        if not content:
            return
        if media not in content:
            self.drift.append(f"{where}: answered {media}, documented {sorted(content)}")
            return
        schema = {**content[media]["schema"], "components": self.spec["components"]}
        errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(orjson.loads(response.content))]
        if errors:
            self.drift.append(f"{where}: {errors[:3]}")


@pytest.fixture
async def live():
    """The app on a loopback port whose URL is its public_url (the sandbox page's links name it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    container = composition.build_container({**FAST, "public_url": base, "sandbox": "on"}, environ={})
    client = TestClient(TestServer(create_app(container), host="127.0.0.1", port=port))
    await client.start_server()
    yield base
    await client.close()


async def test_the_readme_payment_story_through_a_client_generated_from_the_live_document(live, tmp_path_factory):
    async with httpx.AsyncClient(base_url=live) as raw:
        document = (await raw.get("/openapi.json")).content
    pc = await generate(document, tmp_path_factory.mktemp("generated"))
    m = importlib.import_module(f"{PACKAGE}.models")
    conformance = Conformance(orjson.loads(document))
    hooks = {"event_hooks": {"response": [conformance]}}
    anonymous = pc.Client(base_url=live, raise_on_unexpected_status=True, httpx_args=hooks)

    async def call(module_path: str, client, *args, **kwargs):
        module = importlib.import_module(f"{PACKAGE}.api.{module_path}")
        return await module.asyncio_detailed(*args, client=client, **kwargs)

    # 1. an account and a token
    email, password = "ada@example.com", "correct horse battery"
    user = await call("auth.auth_register", anonymous, body=m.RegisterIn(email=email, password=password, name="Ada"))
    assert user.status_code == 201 and isinstance(user.parsed, m.UserOut) and user.parsed.email == email
    refused = await call("auth.auth_login", anonymous, body=m.LoginIn(email=email, password="not the password"))
    assert refused.status_code == 401 and isinstance(refused.parsed, m.Problem) and refused.parsed.code
    tokens = await call("auth.auth_login", anonymous, body=m.LoginIn(email=email, password=password))
    assert tokens.status_code == 200 and isinstance(tokens.parsed, m.TokensOut)
    me = pc.AuthenticatedClient(base_url=live, token=tokens.parsed.access, raise_on_unexpected_status=True,
                                httpx_args=hooks)

    # 2. the demo catalog, and a cart
    products = await call("catalog.catalog_list_products", me, search="rice")
    assert "NG-RICE-5KG" in [p.sku for p in products.parsed.results]
    cart = await call("cart.cart_add_item", me, body=m.ItemIn(sku="NG-RICE-5KG", quantity=2))
    assert isinstance(cart.parsed, m.CartOut) and cart.parsed.subtotal == 1_700_000

    # 3. check the cart out: coupon WELCOME10, shipping to Lagos, confirm
    checkout = await call("checkout.checkout_initiate", me, body=m.CheckoutInitiateIn(from_cart=True))
    assert checkout.status_code == 201 and isinstance(checkout.parsed, m.CheckoutOut)
    checkout_id = checkout.parsed.checkout_id
    coupon = await call("checkout.checkout_coupon", me, body=m.CouponIn(checkout_id=checkout_id, code="WELCOME10"))
    assert coupon.parsed.summary.discount == 170_000
    address = m.AddressIn(country="NG", city="Lagos", line1="1 Marina")
    shipped = await call("checkout.checkout_shipping", me, body=m.ShippingIn(checkout_id=checkout_id, address=address))
    assert shipped.parsed.summary.total == 1_794_750
    order = (await call("checkout.checkout_confirm", me, body=m.CheckoutIdIn(checkout_id=checkout_id))).parsed
    assert isinstance(order, m.OrderOut) and order.status.value == "pending" and order.total == 1_794_750

    # 4. pay on the sandbox: initiate, press Approve on the hosted page, follow the gateway redirect
    missing = await call("payments.payments_initiate", me, body=m.PaymentInitiateIn(order_id="ord_nobody"),
                         idempotency_key="pay-nobody")
    assert missing.status_code == 404 and missing.parsed.code == "not_found"
    payment = (await call("payments.payments_initiate", me, body=m.PaymentInitiateIn(order_id=order.id),
                          idempotency_key="pay-order-1")).parsed
    assert isinstance(payment, m.PaymentOut) and payment.status.value == "requires_action"
    assert payment.authorization_url == f"{live}/sandbox/pay/{payment.reference}"
    pressed = await call("sandbox.sandbox_settle", anonymous, payment.reference,
                         body=m.SandboxOutcomeIn(outcome=m.SandboxOutcomeInOutcome.APPROVE))
    assert pressed.status_code == 303
    callback = httpx.URL(pressed.headers["Location"])
    assert callback.path == "/api/v1/payment/payments/callback"
    settled = await call("payments.payments_callback_get", me, reference=callback.params["reference"])
    assert isinstance(settled.parsed, m.PaymentOutcomeOut) and settled.parsed.status.value == "succeeded"
    paid = (await call("orders.orders_get_order", me, order.id)).parsed
    assert paid.status.value == "paid"

    # 5. refund part, then the rest
    part = (await call("refunds.refunds_create_refund", me, idempotency_key="refund-1", body=m.RefundIn(
        payment_id=payment.id, amount=500_000, reason=m.RefundInReason.REQUESTED_BY_CUSTOMER))).parsed
    assert isinstance(part, m.RefundOut) and part.amount == 500_000 and part.status.value == "succeeded"
    assert (await call("orders.orders_get_order", me, order.id)).parsed.status.value == "partially_refunded"
    rest = (await call("refunds.refunds_create_refund", me, idempotency_key="refund-2", body=m.RefundIn(
        payment_id=payment.id, reason=m.RefundInReason.REQUESTED_BY_CUSTOMER))).parsed
    assert rest.amount == 1_794_750 - 500_000
    assert (await call("orders.orders_get_order", me, order.id)).parsed.status.value == "refunded"

    # 6. what the customer was told
    told = (await call("notifications.notifications_list_notifications", me, limit=20)).parsed
    assert {"payment_completed", "refund_completed"} <= {n.kind for n in told.results}

    assert len(conformance.checked) == 19  # every answer of the story was checked
    assert conformance.drift == []


def test_a_drifting_answer_is_caught():
    """The conformance check itself fails on an answer the document does not describe."""
    spec = {"paths": {"/things/{id}": {"get": {"responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/T"}}}}}}}},
        "components": {"schemas": {"T": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}}
    conformance = Conformance(spec)
    request = httpx.Request("GET", "http://x/things/1")

    async def check(status: int, body: bytes) -> list[str]:
        conformance.drift.clear()
        await conformance(httpx.Response(status, content=body, headers={"Content-Type": "application/json"},
                                         request=request))
        return list(conformance.drift)

    assert asyncio.run(check(200, b'{"id": "1"}')) == []
    assert asyncio.run(check(200, b'{"id": 1}')) != []       # a field of another type
    assert asyncio.run(check(200, b'{}')) != []              # a required field missing
    assert asyncio.run(check(404, b'{"id": "1"}')) != []     # a status the operation does not document
