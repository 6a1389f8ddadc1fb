"""On Postgres + Redis: a restart loses nothing; Redis down degrades; Postgres down answers 503 fast."""
from __future__ import annotations

import asyncio
import time

import pytest

import container as composition
from entrypoints.http.app import create_app
from tests.e2e.api import Api

BACKENDS = ("postgres",)
SECRET = "s" * 40
DEAD_REDIS = "redis://127.0.0.1:1/0"
DEAD_POSTGRES = "host=127.0.0.1 port=1 user=postgres dbname=payport connect_timeout=1"


async def start(aiohttp_client, settings: dict) -> Api:
    return Api(await aiohttp_client(create_app(composition.build_container(settings, environ={}))))


async def test_checkout_sessions_and_orders_survive_a_restart(aiohttp_client, settings):
    settings = {**settings, "jwt_secret": SECRET}
    first = await start(aiohttp_client, settings)
    h = await first.user()
    order = await first.order(h, ship_to=None)
    open_checkout = await first.json("POST", "/api/v1/checkout/initiate", h, expect=201,
                                     json={"items": [{"sku": "KE-TEA-500G", "quantity": 2}]})
    await first.client.close()  # the service stops

    second = await start(aiohttp_client, settings)
    assert (await second.json("GET", f"/api/v1/payment/orders/{order['id']}", h, expect=200))["status"] == "pending"
    again = await second.json("GET", f"/api/v1/checkout/{open_checkout['checkout_id']}", h, expect=200)
    assert again["summary"] == open_checkout["summary"]
    await second.ship(h, open_checkout["checkout_id"], "KE")
    confirmed = await second.json("POST", "/api/v1/checkout/confirm-order", h,
                                  json={"checkout_id": open_checkout["checkout_id"]}, expect=201)
    payment = await second.initiate(h, confirmed["id"], "after-restart")
    assert (await second.sandbox(payment, "approve"))["status"] == "succeeded"


async def test_with_redis_down_reads_and_payments_still_work(aiohttp_client, settings):
    api = await start(aiohttp_client, {**settings, "redis_url": DEAD_REDIS})
    products = await api.json("GET", "/api/v1/products", expect=200)  # from Postgres, nothing cached
    assert products["results"]
    h = await api.user()  # login is limited in-process while Redis is down, and works
    order = await api.order(h, ship_to="NG")  # checkout sessions fall back to this process
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h, expect=200))["id"] == order["id"]
    payment = await api.initiate(h, order["id"], "k")
    assert (await api.sandbox(payment, "approve"))["status"] == "succeeded"
    refund = await api.refund(h, payment["id"], "r", amount=100)
    assert refund["status"] == "succeeded"
    ready, _ = await api.call("GET", "/health/ready", expect=503)
    report = await ready.json()
    assert report["checks"]["redis"].startswith("down") and report["checks"]["postgres"] == "ok"
    metrics = (await api.call("GET", "/metrics"))[1].decode()
    assert 'payport_rate_limit_fail_open_total{policy="checkout_initiate"}' in metrics
    assert "payport_cache_errors_total" in metrics


@pytest.mark.settings(rate_limits={**composition.RATE_LIMITS, "payment_initiate": (2, 60)})
async def test_with_redis_down_payment_initiation_is_still_limited(aiohttp_client, settings):
    api = await start(aiohttp_client, {**settings, "redis_url": DEAD_REDIS})
    h = await api.user()
    order = await api.order(h, ship_to=None)
    for key in ("a", "b"):
        await api.call("POST", "/api/v1/payment/payments/initiate", {**h, "Idempotency-Key": key},
                       json={"order_id": order["id"]})
    limited, _ = await api.call("POST", "/api/v1/payment/payments/initiate", {**h, "Idempotency-Key": "c"},
                                json={"order_id": order["id"]}, expect=429)
    assert "Retry-After" in limited.headers


async def test_with_postgres_down_requests_fail_fast_with_503(aiohttp_client, settings):
    api = await start(aiohttp_client, {**settings, "database_url": DEAD_POSTGRES})
    started = time.monotonic()
    resp, _ = await api.call("GET", "/api/v1/products", expect=503)
    problem = await resp.json(content_type=None)
    assert resp.content_type == "application/problem+json" and int(resp.headers["Retry-After"]) >= 1
    assert problem["code"] == "dependency_unavailable" and problem["dependency"] == "postgres"
    await api.call("POST", "/api/v1/auth/login", json={"email": "a@example.com", "password": "whatever-1"}, expect=503)
    assert time.monotonic() - started < 5
    ready, _ = await api.call("GET", "/health/ready", expect=503)
    checks = (await ready.json())["checks"]
    assert checks["postgres"].startswith("down") and checks["redis"] == "ok"
    assert (await api.json("GET", "/health/live", expect=200))["status"] == "ok"


async def test_two_api_processes_see_each_others_writes(aiohttp_client, settings):
    """Process A caches an order in its local tier; process B cancels it; A serves the change."""
    settings = {**settings, "jwt_secret": SECRET, "local_cache_ttl": 30}
    a, b = await start(aiohttp_client, settings), await start(aiohttp_client, settings)
    h = await a.user()
    order = await a.order(h, ship_to=None)
    path = f"/api/v1/payment/orders/{order['id']}"
    for _ in range(3):
        assert (await a.json("GET", path, h, expect=200))["status"] == "pending"
    assert a.services.metrics.cache.counts[("order", "hit")] >= 2  # A answers from its cache
    assert (await b.json("POST", f"{path}/cancel", h, expect=200))["status"] == "cancelled"
    deadline = time.monotonic() + 1.0
    while (await a.json("GET", path, h, expect=200))["status"] != "cancelled":
        assert time.monotonic() < deadline, "process A kept serving the cancelled order as pending"
        await asyncio.sleep(0.01)
