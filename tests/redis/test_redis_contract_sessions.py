"""CheckoutSessionStore contract (memory and Redis), plus the Redis codec and key layout."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import attrs
import orjson
import pytest

from adapters.memory.infrastructure import MemoryCheckoutSessionStore
from adapters.metrics import Metrics
from adapters.redis import LocalFallbackSessions, RedisCheckoutSessionStore
from adapters.system import SystemClock
from adapters.redis.codec import SessionDecodeError, decode_session, encode_session, session_to_dict
from domain.checkout import CheckoutSession, LineItem
from domain.places import Address
from domain.pricing import ShippingMethod

NOW = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def full_session(checkout_id: str = "chk_1") -> CheckoutSession:
    return CheckoutSession(
        id=checkout_id, owner_id="user:u_1", currency="NGN",
        items=[LineItem("SKU-1", "prd_1", "Jollof kit — spicy", 150000, 2), LineItem("SKU-2", "prd_2", "Mug", 2500, 1)],
        created_at=NOW, updated_at=NOW + timedelta(seconds=5), expires_at=NOW + timedelta(minutes=30, seconds=5),
        coupon_code="WELCOME10", discount=30250, address=Address("NG", "Lagos", "1 Marina", None),
        shipping_method=ShippingMethod.EXPRESS, shipping=5000, tax=20419, tax_inclusive=False,
        tax_country="NG", order_id=None,
    )


def bare_session(checkout_id: str = "chk_2") -> CheckoutSession:
    return CheckoutSession(id=checkout_id, owner_id="guest:g_1", currency="UGX",
                           items=[LineItem("SKU-9", "prd_9", "Coffee", 12000, 1)],
                           created_at=NOW, updated_at=NOW, expires_at=NOW + timedelta(minutes=30))


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis),
                        pytest.param("fallback", marks=pytest.mark.redis)])
def kind(request) -> str:
    """Memory, Redis, and the store production wires in front of Redis (LocalFallbackSessions)."""
    return request.param


@pytest.fixture
def store(kind, harness, request, prefix):
    if kind == "memory":
        return MemoryCheckoutSessionStore(harness.clock)
    redis = RedisCheckoutSessionStore(request.getfixturevalue("redis_client"), prefix)
    if kind == "redis":
        return redis
    return LocalFallbackSessions(redis, MemoryCheckoutSessionStore(SystemClock()), Metrics())


@pytest.mark.parametrize("make", [full_session, bare_session])
async def test_round_trip_is_exact(store, make):
    session = make()
    await store.save(session, ttl=60)
    loaded = await store.get(session.id)
    assert loaded == session
    assert loaded is not session
    assert loaded.summary() == session.summary()
    assert loaded.shipping_method is session.shipping_method
    assert loaded.created_at.tzinfo is not None


async def test_saved_copy_is_independent_of_the_caller(store):
    session = full_session()
    await store.save(session, ttl=60)
    session.items.append(LineItem("SKU-3", "prd_3", "Late", 1, 1))
    assert len((await store.get(session.id)).items) == 2


async def test_missing_and_deleted(store):
    assert await store.get("chk_none") is None
    await store.save(full_session(), ttl=60)
    await store.delete("chk_1")
    await store.delete("chk_1")
    assert await store.get("chk_1") is None


async def test_gone_after_expiry_unless_saved_again(store, harness):
    await store.save(full_session("chk_a"), ttl=0.3)
    await store.save(full_session("chk_b"), ttl=0.3)
    await harness.advance(0.2)
    await store.save(await store.get("chk_b"), ttl=0.3)  # activity refreshes the TTL
    await harness.advance(0.2)
    assert await store.get("chk_a") is None
    assert await store.get("chk_b") is not None


async def test_save_sets_and_refreshes_pttl(redis_client, prefix):
    store = RedisCheckoutSessionStore(redis_client, prefix)
    key = f"{prefix}checkout:session:chk_1"
    assert store.key("chk_1") == key
    await store.save(full_session(), ttl=1800)
    await redis_client.pexpire(key, 1000)  # as if most of the 30 minutes had gone by
    assert await redis_client.pttl(key) <= 1000
    await store.save(full_session(), ttl=1800)
    assert 1_799_000 < await redis_client.pttl(key) <= 1_800_000
    await store.get("chk_1")
    assert await redis_client.pttl(key) > 1_799_000


async def test_sessions_survive_a_restart(client_factory, redis_client, prefix):
    first = await client_factory()
    await RedisCheckoutSessionStore(first, prefix).save(full_session(), ttl=60)
    await first.aclose()
    restarted = RedisCheckoutSessionStore(await client_factory(), prefix)
    assert await restarted.get("chk_1") == full_session()


async def test_unreadable_session_reads_as_expired(redis_client, prefix):
    store = RedisCheckoutSessionStore(redis_client, prefix)
    await redis_client.set(store.key("chk_bad"), b"{not json")
    assert await store.get("chk_bad") is None


def test_codec_keeps_offsets_microseconds_and_ignores_unknown_fields():
    lagos = timezone(timedelta(hours=1))
    session = bare_session()
    session.created_at = datetime(2026, 3, 1, 10, 0, 0, 7, tzinfo=lagos)
    assert decode_session(encode_session(session)).created_at == session.created_at
    assert decode_session(encode_session(session)).created_at.utcoffset() == timedelta(hours=1)
    data = session_to_dict(session)
    assert set(data) - {"v"} == {f.name for f in attrs.fields(CheckoutSession)}
    newer = orjson.dumps({**data, "loyalty_points": 5})
    assert decode_session(newer) == session
    with pytest.raises(SessionDecodeError):
        decode_session(orjson.dumps({**data, "v": 99}))
    with pytest.raises(SessionDecodeError):
        decode_session(b"[]")
