"""Races at confirmation, on both backends (Postgres: product and coupon rows locked FOR UPDATE):
no oversell, one order per checkout, coupon limits counted exactly."""
from __future__ import annotations

import asyncio

import pytest

from container import RATE_LIMITS

BACKENDS = ("memory", "postgres")
API = "/api/v1"
RACE_LIMITS = pytest.mark.settings(rate_limits={**RATE_LIMITS, "guest": (1000, 60), "checkout_confirm": (100, 300),
                                                "checkout_initiate": (100, 300), "checkout_coupon": (100, 60)})


async def _last_units(api, admin, stock: int) -> dict:
    return await api.json("POST", f"{API}/products", admin, expect=201, json={
        "sku": "NG-LAST-UNITS", "name": "Limited edition", "price": 100_000, "currency": "NGN", "stock": stock,
        "category": "fashion"})


async def _confirm(api, h: dict, cid: str):
    resp, _ = await api.call("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": cid})
    return resp.status, await resp.json(content_type=None)


async def _checkouts(api, buyers: list[dict], sku: str, coupon: str | None = None) -> list[str]:
    ids = []
    for h in buyers:
        co = await api.json("POST", f"{API}/checkout/initiate", h, json={"items": [{"sku": sku, "quantity": 1}]},
                            expect=201)
        if coupon:
            await api.json("POST", f"{API}/checkout/apply-coupon", h, expect=200,
                           json={"checkout_id": co["checkout_id"], "code": coupon})
        await api.ship(h, co["checkout_id"])
        ids.append(co["checkout_id"])
    return ids


async def _orders(api, admin) -> list[dict]:
    return (await api.json("GET", f"{API}/payment/orders?limit=100", admin, expect=200))["results"]


@RACE_LIMITS
async def test_a_hundred_buyers_for_the_last_ten_units_make_exactly_ten_orders(api, admin):
    product = await _last_units(api, admin, 10)
    buyers = [await api.guest() for _ in range(100)]
    checkouts = await _checkouts(api, buyers, product["sku"])  # each one sees 10 in stock
    outcomes = await asyncio.gather(*[_confirm(api, h, cid) for h, cid in zip(buyers, checkouts, strict=True)])
    created = [body for status, body in outcomes if status == 201]
    refused = [body for status, body in outcomes if status != 201]
    assert len(created) == 10
    assert {(b["status"], b["code"]) for b in refused} == {(409, "insufficient_stock")}, refused[:3]
    after = await api.json("GET", f"{API}/products/{product['id']}", expect=200)
    assert after["stock"] == 0
    assert len(await _orders(api, admin)) == 10


@RACE_LIMITS
async def test_twenty_concurrent_confirms_of_one_checkout_make_one_order(api, admin):
    product = await _last_units(api, admin, 50)
    h = await api.user()
    [cid] = await _checkouts(api, [h], product["sku"], coupon="WELCOME10")
    outcomes = await asyncio.gather(*[_confirm(api, h, cid) for _ in range(20)])
    assert sorted(status for status, _ in outcomes) == [200] * 19 + [201], outcomes
    assert len({body["id"] for _, body in outcomes}) == 1
    assert (await api.json("GET", f"{API}/products/{product['id']}"))["stock"] == 49
    assert len(await _orders(api, admin)) == 1
    again = await _confirm(api, h, cid)  # later still the same order, never a second one
    assert again[0] == 200 and again[1]["id"] == outcomes[0][1]["id"]


@RACE_LIMITS
async def test_a_per_user_coupon_limit_holds_under_concurrent_confirms(api, admin):
    await api.json("POST", f"{API}/coupons", admin, expect=201,
                   json={"code": "ONEEACH", "kind": "percent", "value": 2000, "max_uses_per_user": 1})
    product = await _last_units(api, admin, 50)
    h = await api.user()
    checkouts = await _checkouts(api, [h] * 5, product["sku"], coupon="ONEEACH")
    outcomes = await asyncio.gather(*[_confirm(api, h, cid) for cid in checkouts])
    assert sorted(status for status, _ in outcomes) == [201] + [422] * 4, outcomes
    assert {body["code"] for status, body in outcomes if status == 422} == {"coupon_invalid"}
    assert (await api.json("GET", f"{API}/products/{product['id']}"))["stock"] == 49  # refused ones took nothing


@RACE_LIMITS
async def test_a_global_coupon_limit_holds_under_concurrent_confirms(api, admin):
    await api.json("POST", f"{API}/coupons", admin, expect=201,
                   json={"code": "FIRST3", "kind": "fixed", "value": 5_000, "currency": "NGN", "max_uses": 3})
    product = await _last_units(api, admin, 50)
    buyers = [await api.guest() for _ in range(12)]
    checkouts = await _checkouts(api, buyers, product["sku"], coupon="FIRST3")
    outcomes = await asyncio.gather(*[_confirm(api, h, cid) for h, cid in zip(buyers, checkouts, strict=True)])
    assert sorted(status for status, _ in outcomes) == [201] * 3 + [422] * 9, outcomes
    assert all(body["discount"] == 5_000 for status, body in outcomes if status == 201)
    assert (await api.json("GET", f"{API}/products/{product['id']}"))["stock"] == 47
