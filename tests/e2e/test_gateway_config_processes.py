"""On Postgres + Redis: a gateway configuration saved in one API process is applied by another
without a restart (the save invalidates its cache key in every process; each refreshes from it)."""
from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

import container as composition
from entrypoints.http.app import create_app
from tests.e2e.api import Api
from tests.e2e.test_gateway_config import A, start_payment, with_fakes

BACKENDS = ("postgres",)
SECRET = "s" * 40


async def test_another_process_applies_a_change_without_a_restart(aiohttp_client, settings):
    settings = {**settings, "jwt_secret": SECRET}
    apis, registries = [], []
    for _ in range(2):
        c = composition.build_container(settings, environ={})
        fakes = with_fakes(c)
        apis.append(Api(await aiohttp_client(create_app(c))))
        registries.append((c, fakes))
    a, b = apis
    tokens = await a.json("POST", "/api/v1/auth/login", json={"email": "admin@example.com",
                                                              "password": "admin-password-1"}, expect=200)
    admin = {"Authorization": f"Bearer {tokens['access']}"}
    assert (await start_payment(b, "before"))["gateway"] == "paystack"
    await a.json("PUT", f"{A}/routes", admin, json={"routes": {"NGN": ["flutterwave"]}}, expect=200)
    config_b = b.services.gateway_config
    deadline = time.monotonic() + 2.0  # the invalidation reaches B's cache tier; B's next refresh reads it
    while (await config_b.refresh()).routes != {"NGN": ("flutterwave",)}:
        assert time.monotonic() < deadline, "process B kept the old routing table"
        await asyncio.sleep(0.01)
    assert (await start_payment(b, "after"))["gateway"] == "flutterwave"
    redis = Redis.from_url(settings["redis_url"])  # each entry cached for an hour under payment_config:{gateway}
    try:
        for name in ("routes", "paystack", "flutterwave"):
            [key] = [k async for k in redis.scan_iter(match=settings["redis_prefix"] + f"*payment_config:{name}}}")]
            assert 3_590_000 < await redis.pttl(key) <= 3_600_000, key
    finally:
        await redis.aclose()
