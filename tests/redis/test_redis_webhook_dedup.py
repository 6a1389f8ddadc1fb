"""Webhook fast-path dedup: one SET NX per (gateway, event_id); a claim is "in flight" until stored."""
from __future__ import annotations

import asyncio

import pytest

from adapters.redis import RedisWebhookDedup

pytestmark = pytest.mark.redis


async def test_first_delivery_is_new_then_in_flight_until_stored(redis_client, prefix):
    dedup = RedisWebhookDedup(redis_client, prefix)
    assert await dedup.claim("paystack", "evt_1") == "new"
    assert await dedup.claim("paystack", "evt_1") == "in_flight"  # not in the inbox yet: never acknowledged
    await dedup.confirm("paystack", "evt_1")
    assert await dedup.claim("paystack", "evt_1") == "stored"
    assert await dedup.claim("stripe", "evt_1") == "new"  # ids are per gateway
    assert 86_000 < await redis_client.ttl(f"{prefix}webhook:seen:paystack:evt_1") <= 86_400


async def test_concurrent_deliveries_let_exactly_one_through(client_factory, prefix):
    dedups = [RedisWebhookDedup(await client_factory(), prefix) for _ in range(3)]
    answers = await asyncio.gather(*(dedups[i % 3].claim("flutterwave", "evt_9") for i in range(30)))
    assert answers.count("new") == 1 and answers.count("in_flight") == 29


async def test_forget_lets_the_retry_through(redis_client, prefix):
    dedup = RedisWebhookDedup(redis_client, prefix)
    assert await dedup.claim("mtn_momo", "evt_2") == "new"
    await dedup.forget("mtn_momo", "evt_2")
    assert await dedup.claim("mtn_momo", "evt_2") == "new"


async def test_stored_marker_expires_after_ttl(redis_client, prefix):
    dedup = RedisWebhookDedup(redis_client, prefix, ttl=0.3)
    assert await dedup.claim("stripe", "evt_3") == "new"
    await dedup.confirm("stripe", "evt_3")
    await asyncio.sleep(0.4)
    assert await dedup.claim("stripe", "evt_3") == "new"


async def test_an_unconfirmed_claim_lapses_after_claim_ttl(redis_client, prefix):
    """The process that claimed died before storing: re-deliveries are refused (retry later) only
    until the claim lapses, then one is let through."""
    dedup = RedisWebhookDedup(redis_client, prefix, ttl=3600, claim_ttl=0.3)
    key = f"{prefix}webhook:seen:stripe:evt_4"
    assert await dedup.claim("stripe", "evt_4") == "new"
    assert await redis_client.pttl(key) <= 300
    assert await dedup.claim("stripe", "evt_4") == "in_flight"
    await asyncio.sleep(0.4)
    assert await dedup.claim("stripe", "evt_4") == "new"
    await dedup.confirm("stripe", "evt_4")
    assert await redis_client.ttl(key) > 3500
