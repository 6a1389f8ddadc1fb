"""The holes issue 16 found, each closed (every test here failed before its fix), with its siblings."""
from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import pytest

from adapters.security import ScryptHasher
from application.cart import Carts
from application.wishlist import Wishlists
from domain.users import Role
from entrypoints.settings import load_settings, startup_refusals
from tests.security.conftest import SETTINGS, address

API = "/api/v1"


async def _paid_order(client, h) -> tuple[dict, dict]:
    order = await client.order(h, ship_to=None)
    payment = await client.initiate(h, order["id"], "k-" + order["id"])
    return order, payment


# -- 500s from client input ------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["path", "query", "body", "nested body", "form", "login email"])
async def test_a_nul_byte_anywhere_is_a_client_error_on_postgres(pg_client, where):
    client = pg_client
    h = await client.user()
    calls = {
        "path": ("GET", f"{API}/payment/orders/ord%00x", {}),
        "query": ("GET", f"{API}/products?search=rice%00", {}),
        "body": ("POST", f"{API}/cart/items", {"json": {"sku": "NG-RICE-5KG\u0000", "quantity": 1}}),
        "nested body": ("POST", f"{API}/addresses", {"json": {"country": "NG", "city": "Lagos\u0000",
                                                               "line1": "1 Marina"}}),
        "form": ("POST", f"{API}/payment/payments/callback", {"data": {"reference": "pp\x00x"}}),
        "login email": ("POST", f"{API}/auth/login", {"json": {"email": "a\u0000@example.com", "password": "x" * 8}}),
    }
    method, path, kw = calls[where]
    resp, body = await client.call(method, path, h, **kw)
    assert 400 <= resp.status < 500, (resp.status, body[:300])
    assert resp.content_type == "application/problem+json"


@pytest.mark.parametrize("suffix", [":gen", ":ver", "%3Agen", ":0", "%2F..%2Fetc", "..", "."])
async def test_an_id_shaped_like_an_internal_cache_key_is_no_route(client, suffix):
    for template in ("/products/{}", "/payment/orders/{}", "/payment/payments/{}", "/payment/refunds/{}"):
        h = await client.user()
        resp, body = await client.call("GET", API + template.format("prd_1" + suffix), h)
        assert resp.status == 404, (template, suffix, resp.status, body[:200])
    products = await client.json("GET", f"{API}/products", expect=200)  # nothing was poisoned
    assert products["results"]


async def test_every_path_parameter_is_constrained_in_the_router_and_the_document(client):
    from entrypoints.http.app import PATH_PARAMETER
    from entrypoints.http.openapi import NARROWER_PATH_SCHEMAS, PATH_SCHEMA

    assert PATH_SCHEMA["pattern"] == f"^{PATH_PARAMETER}$"
    spec = await client.json("GET", "/openapi.json", expect=200)
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                if param["in"] == "path":
                    expected = NARROWER_PATH_SCHEMAS.get(param["name"], PATH_SCHEMA)
                    assert param["schema"]["pattern"] == expected["pattern"], path


@pytest.mark.parametrize("depth", [5_000, 100_000])
async def test_deeply_nested_json_is_a_client_error_everywhere(client, depth):
    deep = b"[" * depth + b"]" * depth
    h = await client.user()
    for path in (f"{API}/cart/items", f"{API}/auth/login", f"{API}/payment/webhooks/sandbox",
                 f"{API}/checkout/initiate"):
        resp, body = await client.call("POST", path, {**h, "Content-Type": "application/json"}, data=deep)
        assert 400 <= resp.status < 500, (path, resp.status, body[:200])


def test_a_gateway_payload_nested_too_deeply_is_a_value_error():
    from adapters.gateways.base import loads

    with pytest.raises(ValueError):
        loads(b"[" * 100_000 + b"]" * 100_000)


# -- open redirect ---------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["https://evil.example/thanks", "https://shop.example.evil.example/",
                                 "https://shop.example@evil.example/", "http://shop.example/", "https://"])
async def test_return_url_must_be_on_an_allowed_origin(client, url):
    h = await client.user()
    order = await client.order(h, ship_to=None)
    refused = await client.initiate(h, order["id"], "k", expect=422, return_url=url)
    assert refused["errors"][0]["field"] == "return_url"
    allowed = await client.initiate(h, order["id"], "k2", return_url="https://shop.example/thanks?o=1")
    assert allowed["status"] == "requires_action"


async def test_the_callback_redirects_only_to_an_origin_still_allowed(client):
    h = await client.user()
    order = await client.order(h, ship_to=None)
    payment = await client.initiate(h, order["id"], "k", return_url="https://shop.example/thanks")
    client.services.edge.return_url_origins = frozenset()  # the operator removed the shop's origin
    resp, body = await client.call("GET", f"{API}/payment/payments/callback?reference={payment['reference']}",
                                   allow_redirects=False)
    assert resp.status == 200 and "Location" not in resp.headers


# -- the callback and the sandbox page ---------------------------------------------------------------
async def test_the_callback_tells_an_anonymous_caller_the_outcome_only(client):
    h = await client.user()
    order, payment = await _paid_order(client, h)
    page = urlsplit(payment["authorization_url"]).path
    await client.call("POST", page, data={"outcome": "decline"}, allow_redirects=False, expect=303)
    url = f"{API}/payment/payments/callback?reference={payment['reference']}"
    anonymous = await client.json("GET", url, address(), expect=200)
    assert anonymous["status"] == "failed"
    assert not {"last_error", "authorization_url", "expires_at"} & anonymous.keys()
    owner = await client.json("GET", url, h, expect=200)
    assert owner["last_error"] and owner["authorization_url"]


async def test_html_answers_carry_security_headers(client):
    """Every HTML route of the router (the sandbox page, the API docs, the admin console: a new one
    is checked without editing this), its success and its refusal."""
    from entrypoints.http.keys import TABLES

    h = await client.user()
    _, payment = await _paid_order(client, h)
    pages = [r for table in client.client.server.app[TABLES] for r in table if r.content_type == "text/html"]
    assert len(pages) >= 3
    paths = [re.sub(r"\{\w+\}", payment["reference"], r.path) for r in pages]
    answers = [(path, 200) for path in paths] + [
        (re.sub(r"\{\w+\}", "pp_nothing", r.path), 404) for r in pages if "{" in r.path]
    for path, status in answers:
        resp, _ = await client.call("GET", path, expect=status)
        assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
        # the sandbox page posts a form to itself: under no-referrer Chromium sends it with Origin: null,
        # which its CSRF check refuses; same-origin sends no referrer to any other origin either
        page = path.startswith("/sandbox") and status == 200
        assert resp.headers["Referrer-Policy"] == ("same-origin" if page else "no-referrer")
        csp = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp and "unsafe-eval" not in csp


async def test_the_sandbox_form_needs_its_pages_token_from_a_browser(client):
    h = await client.user()
    _, payment = await _paid_order(client, h)
    page = urlsplit(payment["authorization_url"]).path
    # another site's form: the browser sends its Origin, and no cookie (SameSite=Strict)
    resp, body = await client.call("POST", page, {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
                                   data={"outcome": "approve"}, allow_redirects=False)
    assert resp.status == 403 and b"csrf_failed" in body
    resp, body = await client.call("POST", page, {"Sec-Fetch-Site": "same-origin"}, data={"outcome": "approve",
                                   "csrf": "0" * 64}, allow_redirects=False)
    assert resp.status == 403
    assert (await client.json("GET", f"{API}/payment/payments/{payment['id']}", h))["status"] == "requires_action"
    resp, html = await client.call("GET", page, expect=200)
    assert "SameSite=Strict" in resp.headers["Set-Cookie"] and "HttpOnly" in resp.headers["Set-Cookie"]
    token = re.search(rb'name="csrf" value="([0-9a-f]+)"', html).group(1).decode()
    resp, _ = await client.call("POST", page, {"Sec-Fetch-Site": "same-origin"},
                                data={"outcome": "approve", "csrf": token}, allow_redirects=False, expect=303)
    assert (await client.json("GET", f"{API}/payment/payments/{payment['id']}", h))["status"] == "succeeded"


# -- CORS --------------------------------------------------------------------------------------------
async def test_cors_answers_only_the_allowed_origins_and_never_with_credentials(client):
    resp, _ = await client.call("GET", f"{API}/products", {"Origin": "https://shop.example"}, expect=200)
    assert resp.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "Access-Control-Allow-Credentials" not in resp.headers and "Origin" in resp.headers["Vary"]
    resp, _ = await client.call("GET", f"{API}/products", {"Origin": "https://evil.example"}, expect=200)
    assert "Access-Control-Allow-Origin" not in resp.headers
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"}
    resp, _ = await client.call("OPTIONS", f"{API}/payment/payments/initiate", preflight, expect=204)
    assert resp.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in resp.headers["Access-Control-Allow-Headers"]
    resp, _ = await client.call("OPTIONS", f"{API}/payment/payments/initiate",
                                {**preflight, "Origin": "https://evil.example"}, expect=204)
    assert "Access-Control-Allow-Origin" not in resp.headers
    await client.call("OPTIONS", f"{API}/payment/payments/initiate", expect=405)  # no preflight: as before


# -- login, registration -------------------------------------------------------------------------------
async def test_wrong_passwords_from_elsewhere_never_lock_the_owner_out(client):
    victim = {"email": "victim@example.com", "password": "victims-password"}
    await client.json("POST", f"{API}/auth/register", address(), json={**victim, "name": "V"}, expect=201)
    attacker = address()
    statuses = [(await client.call("POST", f"{API}/auth/login", attacker,
                                   json={**victim, "password": f"guess-{n:04d}"}))[0].status for n in range(8)]
    assert statuses == [401] * 5 + [429] * 3  # per (email, address)
    await client.json("POST", f"{API}/auth/login", address(), json=victim, expect=200)


async def test_the_per_email_ceiling_slows_but_never_refuses(client):
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
    client.services.edge.sleep = sleep
    victim = {"email": "famous@example.com", "password": "famous-password"}
    await client.json("POST", f"{API}/auth/register", address(), json={**victim, "name": "F"}, expect=201)
    limit, _ = client.services.rate_limits["login_email_ceiling"]
    for n in range(limit):  # a botnet: one guess per address
        await client.call("POST", f"{API}/auth/login", address(), json={**victim, "password": f"bot-{n}"}, expect=401)
    assert slept == []
    await client.call("POST", f"{API}/auth/login", address(), json={**victim, "password": "one more"}, expect=401)
    await client.json("POST", f"{API}/auth/login", address(), json=victim, expect=200)  # the owner, slowed
    assert slept == [client.services.edge.login_slowdown] * 2


async def test_registration_answers_a_taken_email_like_a_new_one(client):
    where = address()
    fresh = await client.call("POST", f"{API}/auth/register", where,
                              json={"email": "new@example.com", "password": "password-1", "name": "N"})
    taken = await client.call("POST", f"{API}/auth/register", where,
                              json={"email": "NEW@example.com", "password": "password-2", "name": "N"})
    (r1, b1), (r2, b2) = fresh, taken
    assert r1.status == r2.status == 201
    j1, j2 = __import__("json").loads(b1), __import__("json").loads(b2)
    assert j1.keys() == j2.keys() and j1["id"] != j2["id"] and {j1["email"], j2["email"]} == {"new@example.com"}
    await client.json("POST", f"{API}/auth/login", where, json={"email": "new@example.com", "password": "password-1"},
                      expect=200)


# -- password hashing ------------------------------------------------------------------------------------
async def test_an_old_scrypt_hash_is_upgraded_to_argon2id_at_login(client):
    await client.json("POST", f"{API}/auth/register", address(),
                      json={"email": "old@example.com", "password": "old-password", "name": "O"}, expect=201)
    uow_factory = client.services.auth.uow
    async with uow_factory() as uow:
        user = await uow.users.get_by_email("old@example.com")
        user.password_hash = await ScryptHasher(n=2**10).hash("old-password")
        await uow.users.save(user)
        await uow.commit()
    await client.json("POST", f"{API}/auth/login", address(),
                      json={"email": "old@example.com", "password": "old-password"}, expect=200)
    async with uow_factory() as uow:
        upgraded = (await uow.users.get_by_email("old@example.com")).password_hash
    assert upgraded.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    await client.json("POST", f"{API}/auth/login", address(),
                      json={"email": "old@example.com", "password": "old-password"}, expect=200)


def test_the_default_hasher_is_owasps_argon2id():
    from container import build_container

    hasher = build_container({}, environ={}).core.hasher()
    assert (hasher._argon2.memory_cost, hasher._argon2.time_cost) == (19_456, 2)


# -- tokens ------------------------------------------------------------------------------------------------
async def _user_row(client, headers):
    me = await client.json("GET", f"{API}/auth/me", headers, expect=200)
    return me["id"]


@pytest.mark.parametrize("change", ["deleted", "disabled", "demoted", "revoked"])
async def test_a_token_stops_within_the_recheck_bound(client, clock, change):
    admin = await client.admin()
    user = await client.user()
    h = admin if change == "demoted" else user
    user_id = await _user_row(client, h)
    await client.call("GET", f"{API}/payment/orders", h, expect=200)
    async with client.services.auth.uow() as uow:
        row = await uow.users.get(user_id)
        if change == "deleted":
            uow.session.write("users", row.id, None, new=True)
        elif change == "disabled":
            row.disable()
        elif change == "demoted":
            row.change_role(Role.CUSTOMER)
        else:
            row.revoke_tokens()
        if change != "deleted":
            await uow.users.save(row)
        await uow.commit()
    bound = client.services.auth.token_recheck
    clock.advance(bound - 1)
    await client.call("GET", f"{API}/payment/orders", h, expect=200)  # still within the bound
    clock.advance(2)
    await client.call("GET", f"{API}/payment/orders", h, expect=401)
    await client.call("GET", f"{API}/products/{'x'}", h, expect=401)  # cached reads too


async def test_refresh_tokens_rotate_and_a_reused_one_revokes_its_family(client):
    where = address()
    await client.json("POST", f"{API}/auth/register", where,
                      json={"email": "r@example.com", "password": "password-r", "name": "R"}, expect=201)
    first = await client.json("POST", f"{API}/auth/login", where,
                              json={"email": "r@example.com", "password": "password-r"}, expect=200)
    other_login = await client.json("POST", f"{API}/auth/login", where,
                                    json={"email": "r@example.com", "password": "password-r"}, expect=200)
    second = await client.json("POST", f"{API}/auth/token/refresh", json={"refresh": first["refresh"]}, expect=200)
    assert second["refresh"] != first["refresh"]
    # the stolen first token, replayed: refused, and the family (the thief's and the owner's) revoked
    await client.call("POST", f"{API}/auth/token/refresh", json={"refresh": first["refresh"]}, expect=401)
    await client.call("POST", f"{API}/auth/token/refresh", json={"refresh": second["refresh"]}, expect=401)
    # another login is another family: untouched
    await client.json("POST", f"{API}/auth/token/refresh", json={"refresh": other_login["refresh"]}, expect=200)


async def test_a_guest_still_sees_its_order_after_paying(client, clock):
    g = await client.guest()
    order, payment = await _paid_order(client, g)
    await client.sandbox(payment, "approve")
    clock.advance(3 * 3600)  # well past the old 15 minutes
    seen = await client.json("GET", f"{API}/payment/orders/{order['id']}", g, expect=200)
    assert seen["status"] == "paid"
    clock.advance(client.services.auth.tokens.guest_ttl)
    await client.call("GET", f"{API}/payment/orders/{order['id']}", g, expect=401)


# -- rate-limit evasion ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "policy"), [("/payment/orders", "order_create_ip"),
                                               ("/checkout/initiate", "checkout_initiate_ip")])
async def test_fresh_guest_tokens_from_one_address_share_its_limit(client, path, policy):
    limit, _ = client.services.rate_limits[policy]
    one_address = address()
    statuses = []
    for _ in range(limit + 2):
        token = (await client.json("POST", f"{API}/auth/guest", address(), expect=201))["access"]
        resp, _ = await client.call("POST", API + path, {**one_address, "Authorization": f"Bearer {token}"},
                                    json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]})
        statuses.append(resp.status)
    assert statuses[:limit] == [201] * limit and statuses[limit:] == [429, 429]


async def test_fresh_guest_tokens_from_one_address_share_its_payment_and_coupon_limits(client):
    """Payment initiation and coupons, the issue's own examples: each guest pays for (or applies the
    coupon to) a checkout of its own, made from an address of its own; only the attempts share one."""
    for policy in ("payment_initiate_ip", "checkout_coupon_ip"):
        limit, _ = client.services.rate_limits[policy]
        one_address = address()
        statuses = []
        for n in range(limit + 2):
            g = await client.guest()
            if policy == "payment_initiate_ip":
                order = await client.order(g, ship_to=None)
                resp, _ = await client.call("POST", f"{API}/payment/payments/initiate",
                                            {**g, **one_address, "Idempotency-Key": f"ip-{n}"},
                                            json={"order_id": order["id"]})
            else:
                checkout = await client.json("POST", f"{API}/checkout/initiate", g, expect=201,
                                             json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]})
                resp, _ = await client.call("POST", f"{API}/checkout/apply-coupon", {**g, **one_address},
                                            json={"checkout_id": checkout["checkout_id"], "code": "WELCOME10"})
            statuses.append(resp.status)
        assert statuses == [200 if policy == "checkout_coupon_ip" else 201] * limit + [429, 429], (policy, statuses)


def test_every_money_route_counted_per_caller_is_counted_per_address_too():
    """From the router: a route under checkout, orders, payments or refunds that limits each caller
    also limits each client IP (``<policy>_ip``), so fresh guest tokens cannot multiply its limit."""
    from entrypoints.http.routes import ROUTE_TABLES

    money = re.compile(rf"^{API}/(checkout|payment/(orders|payments|refunds))(/|$)")
    checked = []
    for route in (r for table in ROUTE_TABLES for r in table.routes):
        per_caller = [p for p in route.limits if not p.endswith("_ip")]
        if money.match(route.path) and per_caller:
            checked.append(route.name)
            assert {f"{p}_ip" for p in per_caller} <= set(route.limits), route.name
    assert len(checked) >= 8


@pytest.mark.settings(rate_limits={"payment_callback_ip": (3, 60), "webhook_ip": (3, 60)})
async def test_the_unauthenticated_payment_routes_are_limited_per_address(client):
    """The gateway redirect (it makes us ask a gateway) and the webhooks (they may make us store a row)."""
    for method, path in (("GET", f"{API}/payment/payments/callback?reference=pp_nothing"),
                         ("POST", f"{API}/payment/webhooks/sandbox")):
        one_address = address()
        statuses = [(await client.call(method, path, one_address, data=b"{}"))[0].status for _ in range(5)]
        assert 429 not in statuses[:3] and statuses[3:] == [429, 429], (path, statuses)
        resp, _ = await client.call(method, path, address(), data=b"{}")  # another address: its own allowance
        assert resp.status != 429


async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(client):
    from aiohttp.test_utils import make_mocked_request

    from entrypoints.http.limits import client_ip
    spoofed = make_mocked_request("GET", "/", headers={"X-Forwarded-For": "203.0.113.7"})
    assert client_ip(spoofed, []) != "203.0.113.7"
    assert client_ip(spoofed, ["10.9.9.9"]) != "203.0.113.7"

    class Transport:  # the connection's peer: our load balancer, 10.0.0.1
        def get_extra_info(self, name, default=None):
            return ("10.0.0.1", 40000) if name == "peername" else default

    def from_proxy(**headers):
        return make_mocked_request("GET", "/", headers=headers, transport=Transport())
    trusted = ["10.0.0.1", "10.0.0.2"]
    # the first hop from the right that is not ours; what the client wrote to the left of it is ignored
    assert client_ip(from_proxy(**{"X-Forwarded-For": "1.2.3.4, 203.0.113.7, 10.0.0.2"}), trusted) == "203.0.113.7"
    assert client_ip(from_proxy(**{"X-Forwarded-For": "203.0.113.7"}), []) == "10.0.0.1"  # not trusted
    # nothing but X-Forwarded-For: X-Real-IP and Forwarded are the client's words
    assert client_ip(from_proxy(**{"X-Real-IP": "203.0.113.8", "Forwarded": "for=203.0.113.9"}), trusted) == "10.0.0.1"
    assert client_ip(from_proxy(**{"X-Forwarded-For": "not-an-address"}), trusted) == "10.0.0.1"


async def test_direct_order_creation_is_limited_per_user(client):
    h = await client.user()
    statuses = [(await client.call("POST", f"{API}/payment/orders", {**h, **address()},
                                   json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]}))[0].status
                for _ in range(12)]
    assert statuses == [201] * 10 + [429] * 2


# -- start-up --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("environ", "refused"), [
    ({"DATABASE_URL": "dbname=x"}, "PAYPORT_JWT_SECRET is required with DATABASE_URL"),
    ({"DATABASE_URL": "dbname=x", "PAYPORT_JWT_SECRET": "x" * 31}, "shorter than 32 bytes"),
    ({"DATABASE_URL": "dbname=x", "PAYPORT_JWT_SECRET": "x" * 32}, None),
    ({}, None),  # the embedded default may run on a random key
    ({"MOMO_SUBSCRIPTION_KEY": "s", "MOMO_API_USER": "u", "MOMO_API_KEY": "k"}, "MOMO_CALLBACK_SECRET is required"),
    ({"MOMO_SUBSCRIPTION_KEY": "s", "MOMO_API_USER": "u", "MOMO_API_KEY": "k", "MOMO_CALLBACK_SECRET": "c"}, None),
])
def test_a_deployment_that_would_be_unsafe_does_not_start(environ, refused):
    refusals = startup_refusals(load_settings(environ))
    assert (refused is None and refusals == []) or (refused and refused in "; ".join(refusals))


def test_payport_serve_refuses_real_storage_without_a_jwt_secret():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYPORT_", "DATABASE_URL", "REDIS_URL"))}
    env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    done = subprocess.run([sys.executable, "-m", "entrypoints.cli", "serve", "--port", "1"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "PAYPORT_JWT_SECRET is required" in done.stderr


# -- the guest cart merged at login (issue 14 item 8) ---------------------------------------------------------------
def racing(uow_factory, repository: str, owner_id: str, meanwhile):
    """Units of work whose first read of ``owner_id``'s row in ``repository`` runs ``meanwhile()``
    (another tab's change, committed) before it answers what it read."""
    raced = []

    def uow():
        inner_uow = uow_factory()

        class Hooked:
            async def __aenter__(self):
                inner = await inner_uow.__aenter__()
                repo = getattr(inner, repository)
                real_get = repo.get

                async def get(owner):
                    found = await real_get(owner)
                    if owner == owner_id and not raced:
                        raced.append(True)
                        await meanwhile()
                    return found
                repo.get = get
                return inner

            async def __aexit__(self, *exc):
                return await inner_uow.__aexit__(*exc)
        return Hooked()
    return uow, raced


async def guest_and_user(client):
    services = client.services
    guest = await services.auth.authenticate((await client.guest())["Authorization"].split()[1])
    user = await services.auth.authenticate((await client.user())["Authorization"].split()[1])
    return services, guest, user


async def test_a_line_added_by_another_tab_during_the_merge_is_not_lost(pg_client):
    services, guest, user = await guest_and_user(pg_client)
    await services.cart.add(guest, "NG-RICE-5KG", 1)
    carts = Carts(services.cart.uow, services.cart.clock)
    uow, raced = racing(services.cart.uow, "carts", guest.id, lambda: carts.add(guest, "NG-ANKARA-01", 2))
    skipped = await Carts(uow, services.cart.clock).merge(guest, user)
    assert raced and skipped == []
    merged = await services.cart.get(user)
    assert {line.sku: line.quantity for line in merged.cart.lines} == {"NG-RICE-5KG": 1, "NG-ANKARA-01": 2}
    assert not (await services.cart.get(guest)).cart.lines


async def test_an_item_kept_by_another_tab_during_the_wishlist_merge_is_not_lost(pg_client):
    """The same class as the cart's (item 8): the guest's list is deleted only at the version merged."""
    services, guest, user = await guest_and_user(pg_client)
    wishlists = Wishlists(services.cart.uow, services.cart.clock)
    await wishlists.add(guest, "NG-RICE-5KG")
    uow, raced = racing(services.cart.uow, "wishlists", guest.id, lambda: wishlists.add(guest, "NG-ANKARA-01"))
    assert await Wishlists(uow, services.cart.clock).merge(guest, user) == []
    assert raced
    merged = await wishlists.list(user, limit=10, cursor=None)
    assert sorted(item.sku for item in merged.results) == ["NG-ANKARA-01", "NG-RICE-5KG"]
    assert (await wishlists.list(guest, limit=10, cursor=None)).results == []


async def test_the_settings_the_battery_runs_on_are_the_real_limits():
    assert "rate_limits" not in SETTINGS and "access_token_ttl" not in SETTINGS
    await asyncio.sleep(0)
