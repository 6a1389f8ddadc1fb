"""Cart (persisted per user and guest, merged at login, checked out) and admin catalog writes."""
from __future__ import annotations

from application.caching import CacheAside

BACKENDS = ("memory", "postgres")
API = "/api/v1"
RICE, TEA = "NG-RICE-5KG", "KE-TEA-500G"


async def _product(api, sku: str) -> dict:
    page = await api.json("GET", f"{API}/products?search={sku}", expect=200)
    return next(p for p in page["results"] if p["sku"] == sku)


async def test_cart_add_change_remove_with_totals_from_current_prices(api, admin):
    h = await api.user()
    empty = await api.json("GET", f"{API}/cart", h, expect=200)
    assert empty["items"] == [] and empty["subtotal"] == 0 and empty["currency"] is None
    await api.json("POST", f"{API}/cart/items", h, json={"sku": RICE, "quantity": 2}, expect=200)
    resp, _ = await api.call("POST", f"{API}/cart/items", h, json={"sku": RICE, "quantity": 1}, expect=200)
    assert resp.headers["Cache-Control"] == "no-store"
    cart = await resp.json()
    assert cart["items"][0]["quantity"] == 3 and cart["subtotal"] == 3 * 850_000 and cart["currency"] == "NGN"
    changed = await api.json("PATCH", f"{API}/cart/items/{RICE}", h, json={"quantity": 1}, expect=200)
    assert changed["subtotal"] == 850_000
    rice = await _product(api, RICE)
    await api.json("PATCH", f"{API}/products/{rice['id']}", admin, json={"price": 900_000}, expect=200)
    resp, _ = await api.call("GET", f"{API}/cart", h, expect=200)
    assert (await resp.json())["subtotal"] == 900_000 and resp.headers["Cache-Control"] == "no-store"
    removed = await api.json("DELETE", f"{API}/cart/items/{RICE}", h, expect=200)
    assert removed["items"] == [] and removed["currency"] is None


async def test_bad_cart_requests_are_refused_and_change_nothing(api):
    h = await api.user()
    await api.json("POST", f"{API}/cart/items", h, json={"sku": RICE, "quantity": 2}, expect=200)
    cases = [
        ("POST", f"{API}/cart/items", {"sku": TEA, "quantity": 1}, 422, "currency_mismatch"),
        ("POST", f"{API}/cart/items", {"sku": "NOPE", "quantity": 1}, 422, "invalid_value"),
        ("POST", f"{API}/cart/items", {"sku": RICE, "quantity": 0}, 422, "validation_error"),
        ("POST", f"{API}/cart/items", {"sku": RICE, "quantity": 1, "price": 1}, 422, "validation_error"),
        ("POST", f"{API}/cart/items", {"sku": RICE, "quantity": 600}, 409, "insufficient_stock"),
        ("POST", f"{API}/cart/items", {"sku": RICE, "quantity": 999}, 422, "invalid_value"),
        ("PATCH", f"{API}/cart/items/{TEA}", {"quantity": 1}, 422, "invalid_value"),
        ("PATCH", f"{API}/cart/items/{RICE}", {"quantity": "2"}, 422, "validation_error"),
        ("DELETE", f"{API}/cart/items/{TEA}", None, 422, "invalid_value"),
    ]
    for method, path, body, status, code in cases:
        problem = await api.json(method, path, h, json=body, expect=status)
        assert problem["code"] == code, (method, path, problem)
    cart = await api.json("GET", f"{API}/cart", h, expect=200)
    assert [(i["sku"], i["quantity"]) for i in cart["items"]] == [(RICE, 2)]
    await api.json("GET", f"{API}/cart", expect=401)


async def test_guest_cart_is_kept_and_merges_into_the_user_cart_at_login(api):
    guest_body = await api.json("POST", f"{API}/auth/guest", expect=201)
    g = {"Authorization": f"Bearer {guest_body['access']}"}
    await api.json("POST", f"{API}/cart/items", g, json={"sku": RICE, "quantity": 2}, expect=200)
    assert (await api.json("GET", f"{API}/cart", g, expect=200))["items"][0]["quantity"] == 2
    await api.json("POST", f"{API}/auth/register", expect=201,
                   json={"email": "merge@example.com", "password": "correct horse battery", "name": "M"})
    login = {"email": "merge@example.com", "password": "correct horse battery"}
    bad = await api.json("POST", f"{API}/auth/login", json={**login, "guest_token": "nope"}, expect=422)
    assert bad["errors"][0]["field"] == "guest_token"
    tokens = await api.json("POST", f"{API}/auth/login", json={**login, "guest_token": guest_body["access"]},
                            expect=200)
    assert tokens["cart_merge"] == {"skipped": []}
    h = {"Authorization": f"Bearer {tokens['access']}"}
    assert [(i["sku"], i["quantity"]) for i in (await api.json("GET", f"{API}/cart", h))["items"]] == [(RICE, 2)]
    assert (await api.json("GET", f"{API}/cart", g, expect=200))["items"] == []
    not_a_guest = await api.json("POST", f"{API}/auth/login", json={**login, "guest_token": tokens["access"]},
                                 expect=422)
    assert not_a_guest["code"] == "invalid_value"


async def test_checkout_from_the_cart_empties_it_at_confirmation(api):
    h = await api.user()
    empty = await api.json("POST", f"{API}/checkout/initiate", h, json={"from_cart": True}, expect=422)
    assert "cart is empty" in empty["detail"]
    await api.json("POST", f"{API}/cart/items", h, json={"sku": RICE, "quantity": 2}, expect=200)
    both = await api.json("POST", f"{API}/checkout/initiate", h, expect=422,
                          json={"from_cart": True, "items": [{"sku": RICE, "quantity": 1}]})
    assert both["code"] == "invalid_value"
    co = await api.json("POST", f"{API}/checkout/initiate", h, json={"from_cart": True}, expect=201)
    assert [(i["sku"], i["quantity"]) for i in co["items"]] == [(RICE, 2)]
    assert co["summary"]["subtotal"] == 1_700_000
    await api.json("POST", f"{API}/cart/items", h, json={"sku": RICE, "quantity": 1}, expect=200)  # added later
    await api.ship(h, co["checkout_id"])
    order = await api.json("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": co["checkout_id"]},
                           expect=201)
    assert order["subtotal"] == 1_700_000
    left = await api.json("GET", f"{API}/cart", h, expect=200)
    assert [(i["sku"], i["quantity"]) for i in left["items"]] == [(RICE, 1)]


async def test_checkout_from_items_leaves_the_cart_alone(api):
    h = await api.user()
    await api.json("POST", f"{API}/cart/items", h, json={"sku": RICE, "quantity": 2}, expect=200)
    await api.order(h, items=[(RICE, 1)], ship_to=None)
    assert (await api.json("GET", f"{API}/cart", h))["items"][0]["quantity"] == 2


async def test_admin_creates_and_edits_products_and_categories_others_get_403(api, admin):
    h = await api.user()
    body = {"sku": "UG-MATOOKE", "name": "Matooke bunch", "price": 12_345, "currency": "UGX", "stock": 5,
            "category": "groceries"}
    forbidden = await api.json("POST", f"{API}/products", h, json=body, expect=403)
    assert forbidden["code"] == "forbidden"
    await api.json("POST", f"{API}/categories", h, json={"slug": "toys", "name": "Toys"}, expect=403)
    await api.json("POST", f"{API}/products", expect=401, json=body)
    created = await api.json("POST", f"{API}/products", admin, json=body, expect=201)
    assert (created["price"], created["currency"], created["stock"], created["active"]) == (12_345, "UGX", 5, True)
    dup = await api.json("POST", f"{API}/products", admin, json=body, expect=409)
    assert dup["code"] == "already_exists"
    unknown = await api.json("POST", f"{API}/products", admin, json={**body, "sku": "X1", "category": "toys"},
                             expect=422)
    assert unknown["errors"][0]["field"] == "category"
    bad_currency = await api.json("POST", f"{API}/products", admin, json={**body, "sku": "X2", "currency": "ABC"},
                                  expect=422)
    assert bad_currency["code"] == "unknown_currency"
    await api.json("PATCH", f"{API}/products/{created['id']}", h, json={"stock": 1}, expect=403)
    await api.json("PATCH", f"{API}/products/{created['id']}", admin, json={"stock": -1}, expect=422)
    await api.json("PATCH", f"{API}/products/prd_missing", admin, json={"stock": 1}, expect=404)
    stale = await api.json("PATCH", f"{API}/products/{created['id']}", admin, json={"version": 7, "stock": 1},
                           expect=409)
    assert stale["code"] == "concurrent_update"
    assert (await api.json("GET", f"{API}/products/{created['id']}", expect=200))["stock"] == 5  # unchanged
    edited = await api.json("PATCH", f"{API}/products/{created['id']}", admin, expect=200,
                            json={"version": created["version"], "name": "Matooke", "stock": 9})
    assert (edited["name"], edited["stock"]) == ("Matooke", 9)
    await api.json("POST", f"{API}/categories", admin, json={"slug": "toys", "name": "Toys"}, expect=201)
    await api.json("POST", f"{API}/categories", admin, json={"slug": "toys", "name": "Toys"}, expect=409)
    await api.json("POST", f"{API}/categories", admin, json={"slug": "Bad Slug", "name": "x"}, expect=422)
    moved = await api.json("PATCH", f"{API}/products/{created['id']}", admin, json={"category": "toys"}, expect=200)
    assert moved["category"] == "toys"


async def test_admin_writes_invalidate_the_cached_lists_details_and_categories(api, admin):
    rice = await _product(api, RICE)
    detail, _ = await api.call("GET", f"{API}/products/{rice['id']}", expect=200)
    etag = detail.headers["ETag"]
    not_modified, _ = await api.call("GET", f"{API}/products/{rice['id']}", {"If-None-Match": etag})
    assert not_modified.status == 304
    listed = await api.json("GET", f"{API}/products?category=groceries&limit=100", expect=200)
    cats = await api.json("GET", f"{API}/categories", expect=200)
    await api.json("PATCH", f"{API}/products/{rice['id']}", admin, json={"price": 860_000}, expect=200)
    again, _ = await api.call("GET", f"{API}/products/{rice['id']}", {"If-None-Match": etag}, expect=200)
    assert (await again.json())["price"] == 860_000 and again.headers["ETag"] != etag
    relisted = await api.json("GET", f"{API}/products?category=groceries&limit=100", expect=200)
    assert next(p for p in relisted["results"] if p["sku"] == RICE)["price"] == 860_000 != next(
        p for p in listed["results"] if p["sku"] == RICE)["price"]
    await api.json("PATCH", f"{API}/products/{rice['id']}", admin, json={"active": False}, expect=200)
    assert RICE not in {p["sku"] for p in (await api.json("GET", f"{API}/products?limit=100"))["results"]}
    await api.json("GET", f"{API}/products/{rice['id']}", expect=404)
    await api.json("POST", f"{API}/categories", admin, json={"slug": "garden", "name": "Garden"}, expect=201)
    recats = await api.json("GET", f"{API}/categories", expect=200)
    assert {c["slug"] for c in recats} == {c["slug"] for c in cats} | {"garden"}


async def test_a_deactivated_or_repriced_product_is_reported_at_confirmation(api, admin):
    h = await api.user()
    rice, tea = await _product(api, RICE), await _product(api, TEA)
    co_rice = await api.json("POST", f"{API}/checkout/initiate", h, json={"items": [{"sku": RICE, "quantity": 1}]},
                             expect=201)
    co_tea = await api.json("POST", f"{API}/checkout/initiate", h, json={"items": [{"sku": TEA, "quantity": 1}]},
                            expect=201)
    await api.ship(h, co_rice["checkout_id"])
    await api.ship(h, co_tea["checkout_id"], "KE")
    await api.json("PATCH", f"{API}/products/{rice['id']}", admin, json={"price": 1}, expect=200)
    await api.json("PATCH", f"{API}/products/{tea['id']}", admin, json={"active": False}, expect=200)
    repriced = await api.json("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": co_rice["checkout_id"]},
                              expect=409)
    gone = await api.json("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": co_tea["checkout_id"]},
                          expect=409)
    assert repriced["code"] == "conflict" and "price" in repriced["detail"]
    assert gone["code"] == "product_unavailable"
    assert (await api.json("GET", f"{API}/payment/orders", h))["results"] == []


async def test_an_initiate_quotes_the_current_price_stock_and_catalog_while_quotes_are_cached(api, admin):
    """Initiates read products through the cache (a quote per sku); any product change drops the
    quotes, so the next initiate prices and checks stock as the catalog stands; an unknown sku is
    never remembered as unknown."""
    h = await api.user()
    rice = await _product(api, RICE)

    async def initiate(sku: str, quantity: int = 1, expect: int = 201) -> dict:
        return await api.json("POST", f"{API}/checkout/initiate", h,
                              json={"items": [{"sku": sku, "quantity": quantity}]}, expect=expect)

    for _ in range(2):  # the second from the cache
        assert (await initiate(RICE))["items"][0]["unit_price"] == rice["price"]
    await api.json("PATCH", f"{API}/products/{rice['id']}", admin, json={"price": rice["price"] + 100}, expect=200)
    assert (await initiate(RICE))["items"][0]["unit_price"] == rice["price"] + 100
    await api.json("PATCH", f"{API}/products/{rice['id']}", admin, json={"stock": 3}, expect=200)
    assert (await initiate(RICE, 4, expect=409))["code"] == "insufficient_stock"
    await api.json("PATCH", f"{API}/products/{rice['id']}", admin, json={"stock": 4}, expect=200)
    assert (await initiate(RICE, 4))["items"][0]["quantity"] == 4
    await api.json("PATCH", f"{API}/products/{rice['id']}", admin, json={"active": False}, expect=200)
    assert (await initiate(RICE, expect=409))["code"] == "product_unavailable"

    unknown = await initiate("UG-NEW-SKU", expect=422)
    assert "UG-NEW-SKU" in unknown["detail"]
    await api.json("POST", f"{API}/products", admin, expect=201,
                   json={"sku": "UG-NEW-SKU", "name": "New", "price": 500, "currency": "UGX", "stock": 2,
                         "category": "groceries"})
    assert (await initiate("UG-NEW-SKU"))["items"][0]["unit_price"] == 500


async def test_a_quote_left_stale_cannot_charge_an_old_price(api, admin, monkeypatch):
    """Even a quote the cache still holds after the price changed (an invalidation lost) only
    prices the checkout: the confirmation reads the locked product and refuses the old price."""
    h = await api.user()
    rice = await _product(api, RICE)
    await api.json("POST", f"{API}/checkout/initiate", h, json={"items": [{"sku": RICE, "quantity": 1}]}, expect=201)
    lost_ones = []

    async def lost(self, keys, counters):  # the price change's invalidation never reaches the cache
        lost_ones.append(counters)
        return True
    with monkeypatch.context() as patched:
        patched.setattr(CacheAside, "_invalidate", lost)
        await api.json("PATCH", f"{API}/products/{rice['id']}", admin, json={"price": rice["price"] + 100},
                       expect=200)
        co = await api.json("POST", f"{API}/checkout/initiate", h, json={"items": [{"sku": RICE, "quantity": 1}]},
                            expect=201)
    assert lost_ones, "the price change was not invalidated through the cache"
    assert co["items"][0]["unit_price"] == rice["price"], lost_ones  # the stale quote
    await api.ship(h, co["checkout_id"])
    refused = await api.json("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": co["checkout_id"]},
                             expect=409)
    assert refused["code"] == "conflict" and "price" in refused["detail"]
    assert (await api.json("GET", f"{API}/payment/orders", h))["results"] == []
