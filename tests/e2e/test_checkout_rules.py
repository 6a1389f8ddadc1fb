"""Checkout rules over HTTP: shipping options and pickup stations, saved addresses, coupons (admin-made,
windows, minimums, currencies, per-user and global limits, removal), zero-decimal rounding."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from container import RATE_LIMITS

BACKENDS = ("memory", "postgres")
API = "/api/v1"
RICE = "NG-RICE-5KG"


async def _checkout(api, h, sku: str = RICE, quantity: int = 1) -> str:
    co = await api.json("POST", f"{API}/checkout/initiate", h, json={"items": [{"sku": sku, "quantity": quantity}]},
                        expect=201)
    return co["checkout_id"]


async def _coupon(api, admin, **fields) -> dict:
    return await api.json("POST", f"{API}/coupons", admin, json={"kind": "percent", "value": 1000, **fields},
                          expect=201)


async def _apply(api, h, cid: str, code: str, expect: int = 200) -> dict:
    return await api.json("POST", f"{API}/checkout/apply-coupon", h, json={"checkout_id": cid, "code": code},
                          expect=expect)


async def test_shipping_options_list_methods_prices_and_stations(api):
    ng = await api.json("GET", f"{API}/shipping/options?country=ng&currency=NGN", expect=200)
    assert {m["method"]: m["prices"] for m in ng["methods"]} == {
        "standard": {"NGN": 150_000}, "express": {"NGN": 350_000}, "pickup": {"NGN": 50_000}}
    assert {"ng-lag-ojota", "ng-lag-jibowu", "ng-abj-utako"} == {st["id"] for st in ng["stations"]}
    world = await api.json("GET", f"{API}/shipping/options?country=FR", expect=200)
    assert [m["method"] for m in world["methods"]] == ["standard", "express"] and world["stations"] == []
    for query in ("", "?country=NGA", "?country=N1", "?country=NG&currency=naira"):
        assert (await api.json("GET", f"{API}/shipping/options{query}", expect=422))["code"] == "invalid_value"


async def test_pickup_at_a_station(api):
    h = await api.user()
    cid = await _checkout(api, h)
    ship = f"{API}/checkout/calculate-shipping"
    missing = await api.json("POST", ship, h, json={"checkout_id": cid, "method": "pickup"}, expect=422)
    assert missing["errors"][0]["field"] == "station_id"
    await api.json("POST", ship, h, json={"checkout_id": cid, "method": "pickup", "station_id": "nowhere"}, expect=422)
    await api.json("POST", ship, h, expect=422,
                   json={"checkout_id": cid, "method": "pickup", "station_id": "gh-acc-kaneshie",
                         "address": {"country": "NG", "city": "Lagos", "line1": "1 Marina"}})
    await api.json("POST", ship, h, json={"checkout_id": cid, "method": "standard"}, expect=422)  # no address
    untouched = await api.json("GET", f"{API}/checkout/{cid}", h, expect=200)
    assert untouched["shipping_method"] is None and untouched["summary"]["shipping"] == 0
    co = await api.json("POST", ship, h, json={"checkout_id": cid, "method": "pickup", "station_id": "ng-lag-jibowu"},
                        expect=200)
    assert co["shipping_method"] == "pickup" and co["summary"]["shipping"] == 50_000
    assert co["address"] == {"country": "NG", "city": "Lagos", "line1": "Ikorodu Rd", "postal_code": None}
    order = await api.json("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": cid}, expect=201)
    assert order["shipping"] == 50_000 and order["tax"] == 63_750  # 7.5% of 850_000


async def test_saved_addresses_and_shipping_to_one(api):
    h, other = await api.user(), await api.user()
    ids = []
    for n in range(3):
        saved = await api.json("POST", f"{API}/addresses", h, expect=201, json={
            "label": f"home {n}", "country": "gh", "city": "Accra", "line1": f"{n} Oxford St"})
        ids.append(saved["id"])
    assert saved["country"] == "GH"
    first = await api.json("GET", f"{API}/addresses?limit=2", h, expect=200)
    rest = await api.json("GET", f"{API}/addresses?limit=2&cursor={first['next_cursor']}", h, expect=200)
    assert [a["id"] for a in first["results"] + rest["results"]] == ids[::-1] and rest["next_cursor"] is None
    assert (await api.json("GET", f"{API}/addresses", other, expect=200))["results"] == []
    await api.json("POST", f"{API}/addresses", h, json={"country": "GH", "city": "Accra"}, expect=422)
    guest = await api.guest()
    await api.json("POST", f"{API}/addresses", guest, json={"country": "GH", "city": "A", "line1": "x"}, expect=422)

    cid = await _checkout(api, h, "GH-COCOA-1KG", 2)
    ship = f"{API}/checkout/calculate-shipping"
    co = await api.json("POST", ship, h, json={"checkout_id": cid, "address_id": ids[0]}, expect=200)
    assert co["address"]["line1"] == "0 Oxford St" and co["summary"]["shipping"] == 2_500
    other_cid = await _checkout(api, other, "GH-COCOA-1KG")
    await api.json("POST", ship, other, json={"checkout_id": other_cid, "address_id": ids[0]}, expect=404)
    await api.json("POST", ship, h, expect=422, json={
        "checkout_id": cid, "address_id": ids[0], "address": {"country": "GH", "city": "Accra", "line1": "x"}})
    await api.json("DELETE", f"{API}/addresses/{ids[0]}", other, expect=404)
    await api.json("DELETE", f"{API}/addresses/{ids[0]}", h, expect=200)
    await api.json("DELETE", f"{API}/addresses/{ids[0]}", h, expect=404)
    assert len((await api.json("GET", f"{API}/addresses", h))["results"]) == 2


@pytest.mark.settings(rate_limits={**RATE_LIMITS, "checkout_coupon": (100, 60)})
async def test_admin_creates_coupons_and_each_rule_is_enforced(api, admin):
    h = await api.user()
    now = datetime.now(UTC)
    await api.json("POST", f"{API}/coupons", h, json={"code": "MINE", "kind": "percent", "value": 5000}, expect=403)
    await _coupon(api, admin, code="old", valid_until=(now - timedelta(days=1)).isoformat())
    await _coupon(api, admin, code="SOON", valid_from=(now + timedelta(days=1)).isoformat())
    await _coupon(api, admin, code="BIGSPEND", min_subtotal=1_000_000)
    await _coupon(api, admin, code="USD5", kind="fixed", value=500, currency="USD")
    fixed = await _coupon(api, admin, code="NGN1000", kind="fixed", value=100_000, currency="NGN")
    assert fixed["code"] == "NGN1000" and fixed["max_uses_per_user"] is None
    assert (await api.json("POST", f"{API}/coupons", admin, json={"code": "OLD", "kind": "percent", "value": 1},
                           expect=409))["code"] == "already_exists"
    for bad in ({"code": "X1", "kind": "fixed", "value": 100},  # a fixed coupon needs a currency
                {"code": "X2", "kind": "percent", "value": 10_001},
                {"code": "X3", "kind": "fixed", "value": 1, "currency": "ABC"},
                {"code": "X4", "kind": "percent", "value": 1, "valid_until": "2026-01-01T00:00:00"},  # naive
                {"code": "bad code", "kind": "percent", "value": 1}):
        await api.json("POST", f"{API}/coupons", admin, json=bad, expect=422)

    cid = await _checkout(api, h)  # 850_000 NGN
    for code, expected in (("OLD", "coupon_invalid"), ("SOON", "coupon_invalid"), ("BIGSPEND", "coupon_invalid"),
                           ("USD5", "currency_mismatch"), ("NOPE", "coupon_invalid")):
        problem = await _apply(api, h, cid, code, expect=422)
        assert problem["code"] == expected, (code, problem)
    assert "expired" in (await _apply(api, h, cid, "old", expect=422))["detail"]
    assert (await api.json("GET", f"{API}/checkout/{cid}", h))["coupon"] is None

    applied = await _apply(api, h, cid, "ngn1000")
    assert applied["coupon"] == "NGN1000" and applied["summary"]["discount"] == 100_000
    replaced = await _apply(api, h, cid, "WELCOME10")  # one coupon per checkout: the new one replaces it
    assert replaced["coupon"] == "WELCOME10" and replaced["summary"]["discount"] == 85_000
    removed = await api.json("POST", f"{API}/checkout/remove-coupon", h, json={"checkout_id": cid}, expect=200)
    assert removed["coupon"] is None and removed["summary"]["discount"] == 0
    again = await api.json("POST", f"{API}/checkout/remove-coupon", h, json={"checkout_id": cid}, expect=422)
    assert again["code"] == "invalid_value"
    await api.json("POST", f"{API}/checkout/remove-coupon", h, json={"checkout_id": "chk_nope"}, expect=404)


async def test_per_user_and_global_limits_are_counted_at_confirmation(api, admin):
    await _coupon(api, admin, code="ONCE", max_uses_per_user=1, max_uses=2)
    ada, bob, cy = await api.user(), await api.user(), await api.user()
    first, second = await _checkout(api, ada), await _checkout(api, ada)
    await _apply(api, ada, first, "ONCE")
    await _apply(api, ada, second, "ONCE")  # not used yet: both may carry it
    for cid in (first, second):
        await api.ship(ada, cid)
    order = await api.json("POST", f"{API}/checkout/confirm-order", ada, json={"checkout_id": first}, expect=201)
    assert order["discount"] == 85_000 and order["coupon"] == "ONCE"
    refused = await api.json("POST", f"{API}/checkout/confirm-order", ada, json={"checkout_id": second}, expect=422)
    assert refused["code"] == "coupon_invalid" and "already used" in refused["detail"]
    third = await _checkout(api, ada)
    assert "already used" in (await _apply(api, ada, third, "ONCE", expect=422))["detail"]
    bob_cid, cy_cid = await _checkout(api, bob), await _checkout(api, cy)
    await _apply(api, bob, bob_cid, "ONCE")
    await _apply(api, cy, cy_cid, "ONCE")
    await api.ship(bob, bob_cid)
    await api.ship(cy, cy_cid)
    await api.json("POST", f"{API}/checkout/confirm-order", bob, json={"checkout_id": bob_cid}, expect=201)
    used_up = await api.json("POST", f"{API}/checkout/confirm-order", cy, json={"checkout_id": cy_cid}, expect=422)
    assert "used up" in used_up["detail"]
    stock = await api.json("GET", f"{API}/products?search={RICE}")
    assert stock["results"][0]["stock"] == 500 - 2  # the refused confirmations took nothing


async def test_zero_decimal_currency_end_to_end(api, admin):
    created = await api.json("POST", f"{API}/products", admin, expect=201, json={
        "sku": "UG-COFFEE", "name": "Bugisu coffee", "price": 12_345, "currency": "UGX", "stock": 3,
        "category": "groceries", "shippable": False})  # collected at the roastery: no shipping decision
    h = await api.user()
    cid = await _checkout(api, h, created["sku"])
    await _apply(api, h, cid, "WELCOME10")
    co = await api.json("POST", f"{API}/checkout/calculate-tax", h, json={"checkout_id": cid}, expect=200)
    # 10% of 12_345 UGX = 1_234.5 -> 1_235 (no minor unit); UG VAT 18% of 11_110 = 1_999.8 -> 2_000
    assert co["summary"] == {"subtotal": 12_345, "discount": 1_235, "shipping": 0, "tax": 2_000,
                             "total": 13_110, "currency": "UGX", "tax_inclusive": False}
    order = await api.json("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": cid}, expect=201)
    assert order["total"] == 13_110


async def test_a_checkout_confirmed_without_calculate_tax_is_taxed_like_a_direct_order(api):
    """Confirming never charges less tax than calculate-tax would: the order of a checkout whose
    tax was never asked for carries the same tax as a direct order of the same items."""
    h = await api.user()
    cid = await _checkout(api, h, quantity=2)
    await api.ship(h, cid)
    confirmed = await api.json("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": cid}, expect=201)
    direct = await api.json("POST", f"{API}/payment/orders", h, json={"items": [{"sku": RICE, "quantity": 2}]},
                            expect=201)
    assert confirmed["tax"] == direct["tax"] > 0
    assert confirmed["total"] == confirmed["subtotal"] + confirmed["shipping"] + confirmed["tax"]


async def test_goods_need_a_shipping_decision_before_they_confirm(api, admin):
    """A checkout of goods does not confirm until calculate-shipping chose where they go; one of
    things nobody ships (a download) confirms without it."""
    h = await api.user()
    cid = await _checkout(api, h)
    refused = await api.json("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": cid}, expect=422)
    assert refused["code"] == "invalid_value" and "calculate-shipping" in refused["detail"]
    assert (await api.json("GET", f"{API}/payment/orders", h))["results"] == []  # nothing was placed
    await api.ship(h, cid)
    assert (await api.json("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": cid},
                           expect=201))["shipping"] > 0
    ebook = await api.json("POST", f"{API}/products", admin, expect=201, json={
        "sku": "NG-EBOOK-01", "name": "Cooking with rice (e-book)", "price": 250_000, "currency": "NGN",
        "stock": 1000, "category": "books", "shippable": False})
    assert ebook["shippable"] is False
    digital = await _checkout(api, h, ebook["sku"])
    order = await api.json("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": digital}, expect=201)
    assert order["shipping"] == 0 and order["tax"] > 0
