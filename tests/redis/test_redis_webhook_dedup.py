"""Webhook fast-path dedup: one SET NX per (gateway, event_id)."""
from __future__ import annotations

import asyncio

import pytest

from adapters.redis import RedisWebhookDedup

pytestmark = pytest.mark.redis


async def test_first_delivery_is_new_then_duplicates_are_seen(redis_client, prefix):
    dedup = RedisWebhookDedup(redis_client, prefix)
    assert await dedup.seen("paystack", "evt_1") is False
    assert await dedup.seen("paystack", "evt_1") is True
    assert await dedup.seen("stripe", "evt_1") is False  # ids are per gateway
    assert 86_000 < await redis_client.ttl(f"{prefix}webhook:seen:paystack:evt_1") <= 86_400


async def test_concurrent_deliveries_let_exactly_one_through(client_factory, prefix):
    dedups = [RedisWebhookDedup(await client_factory(), prefix) for _ in range(3)]
    answers = await asyncio.gather(*(dedups[i % 3].seen("flutterwave", "evt_9") for i in range(30)))
    assert answers.count(False) == 1


async def test_forget_lets_the_retry_through(redis_client, prefix):
    dedup = RedisWebhookDedup(redis_client, prefix)
    assert await dedup.seen("mtn_momo", "evt_2") is False
    await dedup.forget("mtn_momo", "evt_2")
    assert await dedup.seen("mtn_momo", "evt_2") is False


async def test_marker_expires_after_ttl(redis_client, prefix):
    dedup = RedisWebhookDedup(redis_client, prefix, ttl=0.3)
    assert await dedup.seen("stripe", "evt_3") is False
    await asyncio.sleep(0.4)
    assert await dedup.seen("stripe", "evt_3") is False


async def test_claim_is_short_until_confirmed(redis_client, prefix):
    dedup = RedisWebhookDedup(redis_client, prefix, ttl=3600, claim_ttl=60)
    key = f"{prefix}webhook:seen:stripe:evt_4"
    assert await dedup.seen("stripe", "evt_4") is False
    assert await redis_client.ttl(key) <= 60
    await dedup.confirm("stripe", "evt_4")
    assert await redis_client.ttl(key) > 3500
    assert await dedup.seen("stripe", "evt_4") is True
