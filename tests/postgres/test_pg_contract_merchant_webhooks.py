"""Contract of the merchant webhook endpoint store, on memory and Postgres."""
from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory.merchant_webhooks import MemoryEndpoints
from adapters.postgres.merchant_webhooks import PostgresEndpoints
from domain.merchant_webhooks import Endpoint


def store_for(backend):
    return MemoryEndpoints() if backend.name == "memory" else PostgresEndpoints(backend.pool)


async def test_endpoints_round_trip_with_their_secrets_and_state(backend):
    store = store_for(backend)
    now = backend.clock.now()
    first = Endpoint.new("we_1", "https://shop.example/hooks", ["payment.succeeded", "order.paid"], "shop", now)
    second = Endpoint.new("we_2", "https://erp.example/in", ["refund.failed"], "", now + timedelta(seconds=1))
    await store.add(first)
    await store.add(second)
    with pytest.raises(KeyError):
        await store.add(first)
    assert await store.get("we_1") == first and await store.get("we_missing") is None
    old = first.secret
    first.rotate(now + timedelta(minutes=1), timedelta(hours=24))
    first.failed(now + timedelta(minutes=2))
    await store.save(first)
    got = await store.get("we_1")
    assert got == first and got.signing_secrets(now + timedelta(hours=1)) == [old, first.secret]
    assert got.signing_secrets(now + timedelta(hours=25)) == [first.secret]
    assert [e.id for e in await store.list()] == ["we_1", "we_2"]
    assert [e.id for e in await store.subscribed("order.paid")] == ["we_1"]
    first.disable(now, "the receiver answered 410 Gone")
    await store.save(first)
    assert await store.subscribed("order.paid") == []
    assert (await store.get("we_1")).disabled_reason == "the receiver answered 410 Gone"
    assert await store.delete("we_1") and not await store.delete("we_1")
    with pytest.raises(KeyError):
        await store.save(first)
    assert [e.id for e in await store.list()] == ["we_2"]
