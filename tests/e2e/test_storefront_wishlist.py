"""The wishlist over HTTP, on both backends: keep, list at today's prices, remove, move to the cart,
a guest's list merged at login; bad input and another caller's list."""
from __future__ import annotations

BACKENDS = ("memory", "postgres")
API = "/api/v1"
RICE, TEA, PHONE = "NG-RICE-5KG", "KE-TEA-500G", "NG-PHONE-01"


async def test_keep_list_remove_and_move_an_item_to_the_cart(api, admin):
    h = await api.user()
    resp, _ = await api.call("POST", f"{API}/wishlist/items", h, json={"sku": RICE}, expect=201)
    assert resp.headers["Cache-Control"] == "no-store"
    kept = await resp.json()
    assert (kept["sku"], kept["price"], kept["currency"], kept["available"]) == (RICE, 850_000, "NGN", True)
    await api.json("POST", f"{API}/wishlist/items", h, json={"sku": RICE}, expect=201)  # kept once
    await api.json("POST", f"{API}/wishlist/items", h, json={"sku": PHONE}, expect=201)
    await api.json("POST", f"{API}/wishlist/items", h, json={"sku": TEA}, expect=201)
    await api.json("PATCH", f"{API}/products/prd_ng_phone_01", admin, json={"price": 14_000_000, "stock": 0},
                   expect=200)
    first = await api.json("GET", f"{API}/wishlist?limit=2", h, expect=200)
    rest = await api.json("GET", f"{API}/wishlist?limit=2&cursor={first['next_cursor']}", h, expect=200)
    items = {i["sku"]: i for i in first["results"] + rest["results"]}
    assert list(items) == [TEA, PHONE, RICE] and rest["next_cursor"] is None
    assert (items[PHONE]["price"], items[PHONE]["available"]) == (14_000_000, False)  # today's price, sold out

    cart = await api.json("POST", f"{API}/wishlist/items/{RICE}/move-to-cart", h, json={"quantity": 2}, expect=200)
    assert [(i["sku"], i["quantity"]) for i in cart["items"]] == [(RICE, 2)]
    refused = await api.json("POST", f"{API}/wishlist/items/{TEA}/move-to-cart", h, json={}, expect=422)
    assert refused["code"] == "currency_mismatch"  # the cart is in NGN: tea stays on the list
    await api.json("DELETE", f"{API}/wishlist/items/{PHONE}", h, expect=200)
    assert [i["sku"] for i in (await api.json("GET", f"{API}/wishlist", h))["results"]] == [TEA]


async def test_bad_wishlist_requests_and_another_callers_list(api):
    alice, bob = await api.user("Alice"), await api.user("Bob")
    await api.json("POST", f"{API}/wishlist/items", alice, json={"sku": RICE}, expect=201)
    cases = [
        ("POST", f"{API}/wishlist/items", {"sku": "NOPE"}, 422, "invalid_value"),
        ("POST", f"{API}/wishlist/items", {"sku": RICE, "note": "x"}, 422, "validation_error"),
        ("POST", f"{API}/wishlist/items", {"sku": ""}, 422, "validation_error"),
        ("POST", f"{API}/wishlist/items/{RICE}/move-to-cart", {"quantity": 0}, 422, "validation_error"),
        ("DELETE", f"{API}/wishlist/items/{TEA}", None, 404, "not_found"),
    ]
    for method, path, body, status, code in cases:
        problem = await api.json(method, path, alice, json=body, expect=status)
        assert problem["code"] == code, (method, path, problem)
    # Bob sees his own (empty) list, and cannot touch Alice's items
    assert (await api.json("GET", f"{API}/wishlist", bob, expect=200))["results"] == []
    await api.json("DELETE", f"{API}/wishlist/items/{RICE}", bob, expect=404)
    await api.json("POST", f"{API}/wishlist/items/{RICE}/move-to-cart", bob, json={}, expect=404)
    assert [i["sku"] for i in (await api.json("GET", f"{API}/wishlist", alice))["results"]] == [RICE]
    await api.json("GET", f"{API}/wishlist", expect=401)
    bad_cursor = await api.json("GET", f"{API}/wishlist?cursor=nonsense", alice, expect=422)
    assert bad_cursor["errors"][0]["field"] == "cursor"


async def test_a_guests_wishlist_merges_into_the_users_at_login(api):
    guest = await api.json("POST", f"{API}/auth/guest", expect=201)
    g = {"Authorization": f"Bearer {guest['access']}"}
    await api.json("POST", f"{API}/wishlist/items", g, json={"sku": TEA}, expect=201)
    await api.json("POST", f"{API}/auth/register", expect=201,
                   json={"email": "wish@example.com", "password": "correct horse battery", "name": "W"})
    tokens = await api.json("POST", f"{API}/auth/login", expect=200, json={
        "email": "wish@example.com", "password": "correct horse battery", "guest_token": guest["access"]})
    assert tokens["wishlist_merge"] == {"skipped": []} and tokens["cart_merge"] == {"skipped": []}
    h = {"Authorization": f"Bearer {tokens['access']}"}
    assert [i["sku"] for i in (await api.json("GET", f"{API}/wishlist", h))["results"]] == [TEA]
    assert (await api.json("GET", f"{API}/wishlist", g))["results"] == []
