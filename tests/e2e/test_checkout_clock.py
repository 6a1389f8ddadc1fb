"""With a controllable clock (memory adapters): checkout session TTL refresh and expiry, and the
rate-limit windows of the checkout endpoints (per user, with RateLimit headers and Retry-After)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dependency_injector import providers

from adapters.system import FakeClock
from container import RATE_LIMITS
from entrypoints.http.app import create_app
from tests.e2e.api import Api

API = "/api/v1"
MINUTE = 60


@pytest.fixture
def clock(container) -> FakeClock:
    fake = FakeClock(datetime.now(UTC).replace(microsecond=0))
    container.core.clock.override(providers.Object(fake))
    yield fake
    container.core.clock.reset_override()


@pytest.fixture
async def api(aiohttp_client, container, clock) -> Api:
    return Api(await aiohttp_client(create_app(container)))


async def _initiate(api, h) -> dict:
    return await api.json("POST", f"{API}/checkout/initiate", h, expect=201,
                          json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]})


async def test_every_update_refreshes_the_thirty_minute_ttl(api, clock):
    h = await api.user()
    co = await _initiate(api, h)
    cid, created = co["checkout_id"], co["updated_at"]
    assert datetime.fromisoformat(co["expires_at"]) - datetime.fromisoformat(created) == timedelta(minutes=30)
    clock.advance(29 * MINUTE)
    taxed = await api.json("POST", f"{API}/checkout/calculate-tax", h, json={"checkout_id": cid}, expect=200)
    assert taxed["updated_at"] > created and taxed["expires_at"] > co["expires_at"]
    clock.advance(29 * MINUTE)  # 58 minutes after it started, 29 after the last update
    seen = await api.json("GET", f"{API}/checkout/{cid}", h, expect=200)
    assert seen["updated_at"] == taxed["updated_at"]  # reading does not extend it
    clock.advance(1 * MINUTE + 1)
    gone = await api.json("GET", f"{API}/checkout/{cid}", h, expect=404)
    assert gone["code"] == "not_found" and "expired" in gone["detail"]
    for path, extra in (("calculate-tax", {}), ("apply-coupon", {"code": "WELCOME10"}), ("confirm-order", {})):
        await api.json("POST", f"{API}/checkout/{path}", h, json={"checkout_id": cid, **extra}, expect=404)


async def test_a_session_untouched_for_thirty_minutes_expires(api, clock):
    h = await api.user()
    cid = (await _initiate(api, h))["checkout_id"]
    clock.advance(30 * MINUTE - 1)
    await api.json("GET", f"{API}/checkout/{cid}", h, expect=200)
    clock.advance(1)
    await api.json("GET", f"{API}/checkout/{cid}", h, expect=404)
    await api.json("GET", f"{API}/checkout/chk_unknown", h, expect=404)


@pytest.mark.settings(rate_limits={**RATE_LIMITS, "checkout_coupon": (2, 60)})
async def test_the_coupon_limit_window_per_user(api, clock):
    ada, bob = await api.user(), await api.user()
    cid = (await _initiate(api, ada))["checkout_id"]
    body = {"checkout_id": cid, "code": "WELCOME10"}
    first, _ = await api.call("POST", f"{API}/checkout/apply-coupon", ada, json=body, expect=200)
    assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == ("2", "1")
    await api.call("POST", f"{API}/checkout/remove-coupon", ada, json={"checkout_id": cid}, expect=200)
    limited, raw = await api.call("POST", f"{API}/checkout/apply-coupon", ada, json=body, expect=429)
    assert limited.headers["RateLimit-Remaining"] == "0" and int(limited.headers["Retry-After"]) == 30
    assert limited.headers["X-RateLimit-Limit"] == "2" and b'"rate_limited"' in raw
    bob_cid = (await _initiate(api, bob))["checkout_id"]  # another user has a window of their own
    await api.call("POST", f"{API}/checkout/apply-coupon", bob, json={**body, "checkout_id": bob_cid}, expect=200)
    clock.advance(29)
    await api.call("POST", f"{API}/checkout/apply-coupon", ada, json=body, expect=429)
    clock.advance(1)  # one request's worth of the window has passed
    await api.call("POST", f"{API}/checkout/apply-coupon", ada, json=body, expect=200)
    await api.call("POST", f"{API}/checkout/apply-coupon", ada, json=body, expect=429)
    clock.advance(MINUTE)
    for _ in range(2):
        await api.call("POST", f"{API}/checkout/apply-coupon", ada, json=body, expect=200)


@pytest.mark.settings(rate_limits={**RATE_LIMITS, "checkout_initiate": (3, 300), "checkout_confirm": (1, 300),
                                   "checkout_pricing": (2, 60)})
async def test_initiate_pricing_and_confirm_limits(api, clock):
    h = await api.user()
    cids = [(await _initiate(api, h))["checkout_id"] for _ in range(3)]
    over, _ = await api.call("POST", f"{API}/checkout/initiate", h, expect=429,
                             json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]})
    assert int(over.headers["Retry-After"]) == 100
    await api.call("POST", f"{API}/checkout/calculate-tax", h, json={"checkout_id": cids[0]}, expect=200)
    ship = {"checkout_id": cids[0], "address": {"country": "NG", "city": "Lagos", "line1": "1 Marina"}}
    await api.call("POST", f"{API}/checkout/calculate-shipping", h, json=ship, expect=200)
    await api.call("POST", f"{API}/checkout/calculate-tax", h, json={"checkout_id": cids[0]}, expect=429)
    await api.call("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": cids[0]}, expect=201)
    await api.call("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": cids[1]}, expect=429)
    clock.advance(300)
    await api.ship(h, cids[1])
    await api.call("POST", f"{API}/checkout/confirm-order", h, json={"checkout_id": cids[1]}, expect=201)
    await api.call("POST", f"{API}/checkout/initiate", h, expect=201,
                   json={"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]})
