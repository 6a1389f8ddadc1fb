"""Who may call what, over every route the router has (a new route is covered without editing this):
IDOR (a second user with the first user's ids, a guest on every user route -> successes 0), a
customer on every admin route (-> successes 0), JWT attacks (-> accepted 0), mass assignment of
amount, currency, status, owner, role, gateway and version on every writing route (-> stored 0)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import typing
from urllib.parse import urlsplit

import jwt
import pytest
from pydantic import BaseModel

from entrypoints.http.keys import TABLES
from tests.security.bodies import valid_body
from tests.security.conftest import SECRET, Client, address

API = "/api/v1"
#: filled by the tests, for docs/security.md
FIGURES: dict[str, object] = {}


def routes_of(client: Client):
    return [r for table in client.client.server.app[TABLES] for r in table]


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "prd_0"), path)


async def victim_world(client: Client) -> tuple[dict, dict]:
    """The first user with one of everything: an order, a paid payment, a refund, notifications, a
    saved address, a checkout session, a cart line."""
    a = await client.user()
    order = await client.order(a, ship_to=None)
    payment = await client.initiate(a, order["id"], "victim-pay")
    await client.sandbox(payment, "approve")
    refund = await client.refund(a, payment["id"], "victim-refund", amount=1000)
    notes = await client.json("GET", f"{API}/notifications", a, expect=200)
    saved = await client.json("POST", f"{API}/addresses", a, expect=201,
                              json={"country": "NG", "city": "Lagos", "line1": "1 Marina"})
    checkout = await client.json("POST", f"{API}/checkout/initiate", a, expect=201,
                                 json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]})
    await client.json("POST", f"{API}/cart/items", a, json={"sku": "NG-RICE-5KG", "quantity": 3}, expect=200)
    await client.json("POST", f"{API}/wishlist/items", a, json={"sku": "NG-RICE-5KG"}, expect=201)
    review = await client.json("POST", f"{API}/products/prd_ng_rice_5kg/reviews", a, expect=201,
                               json={"rating": 5, "body": "Tasty"})
    ticket = await client.json("POST", f"{API}/support/tickets", a, expect=201,
                               json={"subject": "Where is it", "body": "My order", "order_id": order["id"]})
    ids = {"order_id": order["id"], "payment_id": payment["id"], "refund_id": refund["id"],
           "notification_id": notes["results"][0]["id"], "address_id": saved["id"],
           "checkout_id": checkout["checkout_id"], "reference": payment["reference"], "sku": "NG-RICE-5KG",
           "product_id": "prd_ng_rice_5kg", "gateway": "sandbox", "review_id": review["id"],
           "ticket_id": ticket["id"]}
    return a, ids


async def snapshot(client: Client, a: dict, ids: dict) -> tuple:
    """What the first user owns, as they see it."""
    seen = []
    for path in (f"/payment/orders/{ids['order_id']}", f"/payment/payments/{ids['payment_id']}",
                 f"/payment/refunds/{ids['refund_id']}", "/notifications?limit=100", "/addresses",
                 f"/checkout/{ids['checkout_id']}", "/cart", "/wishlist", f"/support/tickets/{ids['ticket_id']}",
                 f"/products/{ids['product_id']}/reviews"):
        body = await client.json("GET", API + path, a, expect=200)
        if isinstance(body, dict):
            body.pop("updated_at", None)
        seen.append(json.dumps(body, sort_keys=True))
    return tuple(seen)


def _body_for(route) -> dict | None:
    """A body the route accepts, so that its answer is the access check's, not the validation's."""
    return valid_body(route.body) if route.body is not None else None


def _is_admin(table, route) -> bool:
    return route.path.startswith(f"{API}/admin") or table.name == "catalog_admin"


@pytest.mark.parametrize("intruder", ["second user", "guest"])
async def test_nobody_reaches_another_callers_resources(client, intruder):
    a, ids = await victim_world(client)
    before = await snapshot(client, a, ids)
    b = await client.user() if intruder == "second user" else await client.guest()
    tried, successes = 0, []
    for table in client.client.server.app[TABLES]:
        for route in table:
            names = set(re.findall(r"\{(\w+)\}", route.path))
            if route.auth == "required" and not _is_admin(table, route):  # admin routes: 403, tested below
                assert names <= ids.keys(), f"{route.name}: give the victim one of each of {names - ids.keys()}"
    for route in routes_of(client):
        if route.auth != "required":
            continue  # public routes: the catalog, the sandbox page, webhooks, the gateway redirect
        if "{" not in route.path:
            continue  # no id in the path: the body-id cases below
        if route.path.endswith("/cart/items/{sku}"):
            continue  # the caller's own cart, named by a sku: checked by the snapshot below
        path = fill(route.path, ids)
        kw = {"json": _body_for(route)} if route.body is not None else {}
        resp, body = await client.call(route.method, path, {**b, "Idempotency-Key": f"idor-{tried}"}, **kw)
        tried += 1
        if 200 <= resp.status < 300:
            successes.append(f"{route.method} {path}")
    for method, path, body in [  # ids in bodies and queries
        ("POST", "/payment/payments/initiate", {"order_id": ids["order_id"]}),
        ("POST", "/payment/refunds", {"payment_id": ids["payment_id"], "reason": "other"}),
        ("POST", "/checkout/calculate-tax", {"checkout_id": ids["checkout_id"]}),
        ("POST", "/checkout/apply-coupon", {"checkout_id": ids["checkout_id"], "code": "WELCOME10"}),
        ("POST", "/checkout/remove-coupon", {"checkout_id": ids["checkout_id"]}),
        ("POST", "/checkout/confirm-order", {"checkout_id": ids["checkout_id"]}),
        ("POST", "/checkout/calculate-shipping", {"checkout_id": ids["checkout_id"], "address_id": ids["address_id"]}),
    ]:
        resp, _ = await client.call(method, API + path, {**b, "Idempotency-Key": f"idor-body-{tried}"}, json=body)
        tried += 1
        if 200 <= resp.status < 300:
            successes.append(f"{method} {path} {body}")
    for path in (f"/payment/payments?order_id={ids['order_id']}", f"/payment/refunds?payment_id={ids['payment_id']}",
                 "/payment/orders", "/payment/payments", "/payment/refunds", "/notifications", "/addresses"):
        page = await client.json("GET", API + path, b)
        tried += 1
        if page.get("results"):
            successes.append(f"GET {path} listed {len(page['results'])}")
    cart = await client.json("DELETE", f"{API}/cart/items/NG-RICE-5KG", b)
    assert cart.get("items", []) == []
    assert await snapshot(client, a, ids) == before  # nothing of the first user's changed
    FIGURES[f"IDOR, {intruder}: requests"] = tried
    FIGURES[f"IDOR, {intruder}: successes"] = len(successes)
    assert successes == []


async def test_a_customer_reaches_no_admin_route(client):
    _, ids = await victim_world(client)
    customer = await client.user()
    admin_routes = [r for table in client.client.server.app[TABLES] for r in table if _is_admin(table, r)]
    assert len(admin_routes) >= 7
    successes = []
    for route in admin_routes:
        # a body the route accepts: validation comes before the handler's role check, and a 422 would
        # not show whether the role check is there
        resp, _ = await client.call(route.method, fill(route.path, ids), {**customer, "Idempotency-Key": "adm"},
                                    json=_body_for(route))
        if resp.status != 403:
            successes.append((route.name, resp.status))
    FIGURES["admin routes, customer: requests"] = len(admin_routes)
    FIGURES["admin routes, customer: successes"] = len(successes)
    assert successes == []


def _b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forged_tokens(claims: dict, refresh: str, now: int) -> dict[str, str]:
    """Every way to make a token we must refuse."""
    hs = lambda header, secret=SECRET: _signed(header, claims, secret)  # noqa: E731
    return {
        "alg=none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "alg=None, signature kept": hs({"alg": "HS256", "typ": "JWT"}).rsplit(".", 1)[0].replace(
            _b64({"alg": "HS256", "typ": "JWT"}), _b64({"alg": "None", "typ": "JWT"})) + ".",
        "HS512 with our secret": jwt.encode(claims, SECRET, algorithm="HS512"),
        "RS256 header": f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.{_b64(b'x' * 256)}",
        "RS256/HS256 confusion (secret as public key)": _signed({"alg": "RS256", "typ": "JWT"}, claims, SECRET),
        "wrong key": jwt.encode(claims, "another-secret-of-32-bytes-or-more!!", algorithm="HS256"),
        "expired": jwt.encode({**claims, "exp": now - 1}, SECRET, algorithm="HS256"),
        "missing exp": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, SECRET, algorithm="HS256"),
        "exp as a string": jwt.encode({**claims, "exp": str(now + 600)}, SECRET, algorithm="HS256"),
        "another issuer": jwt.encode({**claims, "iss": "evil"}, SECRET, algorithm="HS256"),
        "no type": jwt.encode({k: v for k, v in claims.items() if k != "typ"}, SECRET, algorithm="HS256"),
        "refresh as access": refresh,
        "admin role claimed": jwt.encode({**claims, "role": "admin"}, "another-secret-of-32-bytes-or-more!!",
                                         algorithm="HS256"),
        "deleted user": jwt.encode({**claims, "sub": "usr_deleted0000000000000000"}, SECRET, algorithm="HS256"),
        "garbage": "not.a.token",
    }


def _signed(header: dict, claims: dict, secret: str) -> str:
    signing = f"{_b64(header)}.{_b64(claims)}"
    sig = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64(sig)}"


async def test_no_forged_or_misused_token_is_accepted(client, clock):
    a, ids = await victim_world(client)
    tokens = await client.json("POST", f"{API}/auth/login", address(),
                               json={"email": "admin@example.com", "password": "admin-password-1"}, expect=200)
    claims = jwt.decode(tokens["access"], options={"verify_signature": False})
    attacks = forged_tokens(claims, tokens["refresh"], int(clock.now().timestamp()))
    accepted = []
    for name, token in attacks.items():
        for path in ("/payment/orders", f"/payment/orders/{ids['order_id']}", "/admin/gateways", "/auth/me"):
            resp, _ = await client.call("GET", API + path, {"Authorization": f"Bearer {token}"})
            if resp.status != 401:
                accepted.append((name, path, resp.status))
    FIGURES["JWT attacks"] = len(attacks)
    FIGURES["JWT attacks accepted"] = len(accepted)
    assert accepted == []
    await client.call("GET", f"{API}/admin/gateways", {"Authorization": f"Bearer {tokens['access']}"}, expect=200)


#: fields a client must never set (the server computes them, or they are someone else's)
HOSTILE = {"amount": 1, "currency": "USD", "status": "paid", "owner_id": "usr_someone_else",
           "owner": "usr_someone_else", "role": "admin", "gateway": "sandbox", "version": 99, "user_id": "usr_x",
           "captured_amount": 10**9, "total": 1, "subtotal": 1, "price": 1, "discount": 10**9, "is_admin": True,
           "id": "forced_id", "paid_at": "2020-01-01T00:00:00Z"}


async def test_every_writing_route_refuses_fields_it_does_not_declare(client):
    """Statically, from the router: every body is a strict model that forbids unknown fields, and
    the hostile fields a model does declare are the caller's to choose (the admin's catalog, the
    customer's choice of gateway, the optimistic version an admin sends back)."""
    declared = {}
    for route in routes_of(client):
        for model in (route.body, route.form):
            if model is None:
                continue
            for name, nested in _models(model):  # the body's own model and every model inside it
                assert nested.model_config.get("extra") == "forbid", f"{route.name}: {name}"
                overlap = sorted(set(nested.model_fields) & HOSTILE.keys())
                if overlap:
                    declared[f"{route.name} {name}"] = overlap
    # each a field the caller owns; a route that declares another one is a decision to review, here
    assert declared == {
        "POST /api/v1/payment/payments/initiate PaymentInitiateIn": ["gateway"],
        "POST /api/v1/products ProductCreateIn": ["currency", "price"],
        "PATCH /api/v1/products/{product_id} ProductUpdateIn": ["currency", "price", "version"],
        "POST /api/v1/coupons CouponCreateIn": ["currency"],
        "POST /api/v1/payment/refunds RefundIn": ["amount"],
        # an admin's: the order's next status, a refund's amount, the optimistic version sent back
        "POST /api/v1/admin/orders/{order_id}/status OrderStatusIn": ["status"],
        "POST /api/v1/admin/payments/{payment_id}/refund AdminRefundIn": ["amount"],
        "PUT /api/v1/admin/gateways/config/routes RoutesIn": ["version"],
        "PATCH /api/v1/admin/gateways/config/{gateway} GatewayConfigIn": ["version"],
        "POST /api/v1/admin/support/tickets/{ticket_id}/status TicketStatusIn": ["status"],
    }, declared
    FIGURES["mass assignment: body routes"] = sum(1 for r in routes_of(client) if r.body is not None)
    FIGURES["mass assignment: declared on purpose"] = declared


def _models(model: type[BaseModel], seen: set | None = None):
    """``model`` and every model its fields hold (in lists, unions, maps), once each."""
    seen = set() if seen is None else seen
    if model in seen:
        return
    seen.add(model)
    yield model.__name__, model
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            kind = stack.pop()
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                yield from _models(kind, seen)
            stack.extend(typing.get_args(kind))


UNLIMITED = {policy: (1_000_000, 60) for policy in __import__("entrypoints.settings").settings.RATE_LIMITS}


@pytest.mark.settings(rate_limits=UNLIMITED)  # limits come before the body: here the body is what is tested
async def test_mass_assignment_is_refused_and_stores_nothing(client):
    a, ids = await victim_world(client)
    before = await snapshot(client, a, ids)
    stored = []
    bodies = {
        "/auth/register": {"email": "mass@example.com", "password": "password-m", "name": "M"},
        "/cart/items": {"sku": "NG-RICE-5KG", "quantity": 1},
        "/checkout/initiate": {"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]},
        "/checkout/calculate-tax": {"checkout_id": ids["checkout_id"]},
        "/payment/orders": {"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]},
        "/payment/payments/initiate": {"order_id": ids["order_id"]},
        "/payment/refunds": {"payment_id": ids["payment_id"], "reason": "other"},
        "/addresses": {"country": "NG", "city": "Lagos", "line1": "1 Marina"},
    }
    tried = 0
    models = {r.path: r.body for r in routes_of(client) if r.method == "POST" and r.body is not None}
    for path, body in bodies.items():
        for field, value in HOSTILE.items():
            if field in models[API + path].model_fields:
                continue  # the caller's to choose (gateway, a partial refund's amount)
            resp, _ = await client.call("POST", API + path, {**a, "Idempotency-Key": f"mass-{tried}"},
                                        json={**body, field: value})
            tried += 1
            if resp.status != 422:
                stored.append((path, field, resp.status))
    assert stored == []
    after = await snapshot(client, a, ids)
    assert after == before
    await client.call("POST", f"{API}/auth/login", address(), json={"email": "mass@example.com",
                                                                     "password": "password-m"}, expect=401)
    FIGURES["mass assignment: requests"] = tried
    FIGURES["mass assignment: stored"] = len(stored)


def test_routes_are_read_from_the_router():
    from entrypoints.http.routes import ROUTE_TABLES

    assert sum(len(t.routes) for t in ROUTE_TABLES) >= 40 and urlsplit
