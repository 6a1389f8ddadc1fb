"""Checkout sessions in Redis under ``checkout:session:{id}`` with a real (short) TTL, refreshed by
every update and gone after confirmation."""
from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from tests.e2e.conftest import E2E_REDIS_URL

BACKENDS = ("postgres",)
API = "/api/v1"


@pytest.mark.settings(checkout_session_ttl=1.0)
async def test_a_real_short_ttl_is_refreshed_by_updates_and_expires(api, settings):
    redis = Redis.from_url(E2E_REDIS_URL)
    try:
        h = await api.user()
        co = await api.json("POST", f"{API}/checkout/initiate", h, expect=201,
                            json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]})
        key = f"{settings['redis_prefix']}checkout:session:{co['checkout_id']}"
        assert 0 < await redis.pttl(key) <= 1000
        await asyncio.sleep(0.6)
        await api.json("POST", f"{API}/checkout/calculate-tax", h, json={"checkout_id": co["checkout_id"]},
                       expect=200)
        assert await redis.pttl(key) > 900  # refreshed
        await asyncio.sleep(0.6)  # 1.2 s after it started, 0.6 s after the update
        await api.json("GET", f"{API}/checkout/{co['checkout_id']}", h, expect=200)
        await asyncio.sleep(1.1)
        assert await redis.exists(key) == 0
        gone = await api.json("GET", f"{API}/checkout/{co['checkout_id']}", h, expect=404)
        assert gone["code"] == "not_found"
    finally:
        await redis.aclose()


async def test_confirmation_deletes_the_session(api, settings):
    redis = Redis.from_url(E2E_REDIS_URL)
    try:
        h = await api.user()
        co = await api.json("POST", f"{API}/checkout/initiate", h, expect=201,
                            json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]})
        key = f"{settings['redis_prefix']}checkout:session:{co['checkout_id']}"
        assert 1_700_000 < await redis.pttl(key) <= 1_800_000  # 30 minutes by default
        await api.ship(h, co["checkout_id"])
        await api.json("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": co["checkout_id"]},
                       expect=201)
        assert await redis.exists(key) == 0
    finally:
        await redis.aclose()
