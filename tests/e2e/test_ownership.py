"""Another caller's ids answer 404; admins see everything."""

from __future__ import annotations

BACKENDS = ("memory", "postgres")


async def test_another_callers_resources_are_not_found(api, admin):
    alice, bob = await api.user("Alice"), await api.user("Bob")
    order = await api.order(alice, ship_to=None)
    payment = await api.initiate(alice, order["id"], "k")
    await api.sandbox(payment, "approve")
    refund = await api.refund(alice, payment["id"], "r", amount=1000)
    co = await api.json("POST", "/api/v1/checkout/initiate", alice, json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]})

    for path in (f"/api/v1/payment/orders/{order['id']}", f"/api/v1/payment/payments/{payment['id']}",
                 f"/api/v1/payment/refunds/{refund['id']}", f"/api/v1/checkout/{co['checkout_id']}",
                 f"/api/v1/payment/payments/{payment['id']}/check-status"):
        problem = await api.json("GET", path, bob, expect=404)
        assert problem["code"] == "not_found" and problem["status"] == 404
    await api.json("POST", f"/api/v1/payment/orders/{order['id']}/cancel", bob, expect=404)
    await api.initiate(bob, order["id"], "bob-key", expect=404)
    await api.refund(bob, payment["id"], "bob-refund", amount=1, expect=404)
    await api.json("POST", "/api/v1/checkout/confirm-order", bob, json={"checkout_id": co["checkout_id"]}, expect=404)
    for path in ("/api/v1/payment/orders", "/api/v1/payment/payments", "/api/v1/payment/refunds", "/api/v1/notifications"):
        assert (await api.json("GET", path, bob, expect=200))["results"] == []
    alice_notes = await api.json("GET", "/api/v1/notifications", alice)
    await api.json("POST", f"/api/v1/notifications/{alice_notes['results'][0]['id']}/read", bob, expect=404)

    # the order detail is cached now: ownership still holds on a cache hit
    await api.json("GET", f"/api/v1/payment/orders/{order['id']}", alice, expect=200)
    await api.json("GET", f"/api/v1/payment/orders/{order['id']}", bob, expect=404)

    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", admin, expect=200))["id"] == order["id"]
    all_orders = await api.json("GET", "/api/v1/payment/orders?limit=100", admin, expect=200)
    assert order["id"] in {o["id"] for o in all_orders["results"]}
    gateways = await api.json("GET", "/api/v1/admin/gateways", admin, expect=200)
    assert "sandbox" in {g["name"] for g in gateways["gateways"]}
    await api.json("GET", "/api/v1/admin/gateways", alice, expect=403)


async def test_notifications_mark_read(api):
    h = await api.user()
    await api.order(h, ship_to=None)
    note = (await api.json("GET", "/api/v1/notifications", h))["results"][0]
    assert note["kind"] == "order_created" and note["read"] is False
    assert (await api.json("POST", f"/api/v1/notifications/{note['id']}/read", h, expect=200))["read"] is True
    assert (await api.json("GET", "/api/v1/notifications?unread=true", h))["results"] == []


async def test_the_bearer_scheme_is_read_case_insensitively_and_tidied(api):
    token = (await api.user())["Authorization"].removeprefix("Bearer ")
    for header in (f"Bearer {token}", f"bearer {token}", f"BEARER  {token}", f"Bearer \t{token}"):
        await api.call("GET", "/api/v1/payment/orders", {"Authorization": header}, expect=200)
    for header in ("Bearer", "Bearer  ", f"Token {token}", f"Bearer{token}"):
        await api.call("GET", "/api/v1/payment/orders", {"Authorization": header}, expect=401)


async def test_auth_failures_are_clear_problems(api):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        resp, body = await api.call("GET", "/api/v1/payment/orders", headers, expect=401)
        assert resp.content_type == "application/problem+json" and resp.headers["WWW-Authenticate"] == "Bearer"
    await api.user(email="carol@example.com", password="carol-password")
    wrong = await api.json("POST", "/api/v1/auth/login", json={"email": "carol@example.com", "password": "nope-nope"},
                           expect=401)
    assert wrong["detail"] == "wrong email or password"
    # issue 16: sign-up never says whether an email has an account (it was a 409 already_exists)
    taken = await api.json("POST", "/api/v1/auth/register", expect=201,
                           json={"email": "CAROL@example.com", "password": "another-one", "name": "C"})
    assert taken["email"] == "carol@example.com" and taken["role"] == "customer"
    await api.json("POST", "/api/v1/auth/login", json={"email": "carol@example.com", "password": "another-one"},
                   expect=401)  # the account is still Carol's
    tokens = await api.json("POST", "/api/v1/auth/login", json={"email": "carol@example.com", "password": "carol-password"})
    refreshed = await api.json("POST", "/api/v1/auth/token/refresh", json={"refresh": tokens["refresh"]}, expect=200)
    assert refreshed["token_type"] == "Bearer"
    # an access token is not a refresh token, and vice versa
    await api.json("POST", "/api/v1/auth/token/refresh", json={"refresh": tokens["access"]}, expect=401)
    await api.call("GET", "/api/v1/auth/me", {"Authorization": f"Bearer {tokens['refresh']}"}, expect=401)
