"""Contract of the merchant webhook endpoint store, on memory and Postgres."""
from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory.deliveries import MemoryDeliveryQueue
from adapters.memory.merchant_webhooks import ENDPOINTS, MemoryDeliveryLog, MemoryEndpoints
from adapters.postgres.deliveries import PostgresDeliveryQueue
from adapters.postgres.merchant_webhooks import PostgresDeliveryLog, PostgresEndpoints
from application.merchant_webhooks import message
from application.ports.deliveries import DeliveryOutcome, DeliveryStatus
from application.ports.merchant_webhooks import CHANNEL
from domain import merchant_webhooks as mw
from domain.merchant_webhooks import Endpoint


def store_for(backend):
    if backend.name == "memory":
        return MemoryEndpoints(backend.store.tables[ENDPOINTS])
    return PostgresEndpoints(backend.pool)


def log_for(backend):
    if backend.name == "memory":
        return MemoryDeliveryLog(backend.store), MemoryDeliveryQueue(backend.store, backend.clock)
    return PostgresDeliveryLog(backend.pool), PostgresDeliveryQueue(backend.pool, backend.clock)


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


async def test_an_event_fans_out_with_the_commit_to_the_subscribed_endpoints_only(backend):
    store, (log, queue) = store_for(backend), log_for(backend)
    now = backend.clock.now()
    shop = Endpoint.new("we_shop", "https://shop.example/h", ["order.paid", "payment.succeeded"], "", now)
    erp = Endpoint.new("we_erp", "https://erp.example/h", ["refund.failed"], "", now)
    paused = Endpoint.new("we_paused", "https://old.example/h", ["order.paid"], "", now)
    paused.disable(now, None)
    for endpoint in (shop, erp, paused):
        await store.add(endpoint)
    msg = message(mw.message_id("evt_1", "order.paid"), "order.paid", {"order_id": "ord_1", "amount": 500}, now)

    async with backend.uow() as uow:  # rolled back: nothing
        await uow.merchant_webhooks.fan_out([msg], now)
    assert (await log.deliveries("we_shop", limit=10, cursor=None)).results == []
    refund = message(mw.message_id("evt_2", "refund.failed"), "refund.failed", {"refund_id": "rfd_1"}, now)
    for _ in range(2):  # the same messages twice (an event relayed again): one delivery each
        async with backend.uow() as uow:
            await uow.merchant_webhooks.fan_out([msg, refund], now)
            await uow.commit()
    [to_erp] = (await log.deliveries("we_erp", limit=10, cursor=None)).results
    assert to_erp.payload == {"endpoint_id": "we_erp", "msg_id": refund["id"], "type": "refund.failed",
                              "message": refund}

    [delivery] = (await log.deliveries("we_shop", limit=10, cursor=None)).results
    assert delivery.id == mw.delivery_id(mw.dedup_key(msg["id"], "we_shop"))
    assert (delivery.channel, delivery.status, delivery.max_attempts) == (CHANNEL, DeliveryStatus.PENDING,
                                                                         mw.MAX_ATTEMPTS)
    assert delivery.payload == {"endpoint_id": "we_shop", "msg_id": msg["id"], "type": "order.paid", "message": msg}
    assert (await log.deliveries("we_paused", limit=10, cursor=None)).results == []

    [claimed] = [d for d in await queue.claim([CHANNEL], limit=10, lease_seconds=60) if d.id == delivery.id]
    await queue.record(claimed, DeliveryOutcome.failed("answered 503", 503), started_at=now, duration_ms=12)
    attempts = await log.attempts([delivery.id, "dlv_never"])
    assert attempts["dlv_never"] == []
    assert [(a.attempt, a.status_code, a.duration_ms) for a in attempts[delivery.id]] == [(1, 503, 12)]


async def test_the_delivery_log_pages_newest_first(backend):
    store, (log, _) = store_for(backend), log_for(backend)
    await store.add(Endpoint.new("we_shop", "https://shop.example/h", ["order.paid"], "", backend.clock.now()))
    for n in range(5):
        backend.clock.advance(1)
        now = backend.clock.now()
        async with backend.uow() as uow:
            await uow.merchant_webhooks.fan_out([message(f"msg_{n}", "order.paid", {}, now)], now)
            await uow.commit()
    seen, cursor = [], None
    while True:
        page = await log.deliveries("we_shop", limit=2, cursor=cursor)
        seen += [d.payload["msg_id"] for d in page.results]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"msg_{n}" for n in reversed(range(5))]


async def test_the_delivery_log_is_served_by_its_index(pg_pool):
    from adapters.postgres.explain import _CURSOR, _ExplainingReadModel, scans

    class Explaining(PostgresDeliveryLog):
        _fetch = _ExplainingReadModel._fetch

    log = Explaining(pg_pool)
    for cursor in (None, _CURSOR):
        await log.deliveries("we_shop", limit=10, cursor=cursor)
        found = scans(log.plan)
        assert any("deliveries_merchant_endpoint_idx" in s for s in found), found
        assert not any(s.startswith("Seq Scan") for s in found), found


async def test_a_rotation_during_a_send_is_kept_by_the_sender_s_outcome(backend):
    """The race made exact: an admin rotates the secret (and edits the endpoint) while the sender's
    POST is in flight; the failed attempt the sender then notes keeps both."""
    from application.merchant_webhooks import MerchantWebhookSender
    from application.ports.deliveries import Delivery
    from application.ports.merchant_webhooks import endpoint_delivery

    store = store_for(backend)
    now = backend.clock.now()
    await store.add(Endpoint.new("we_shop", "https://shop.example/h", ["order.paid"], "shop", now))
    rotated: list[str] = []

    class Answer:
        ok, gone, status_code, snippet, latency_ms, error = False, False, 503, "down", 5, "answered 503"

    class RotatingMidSend:
        async def post(self, url, body, headers):
            changed, _ = await store.change("we_shop", lambda e: (e.rotate(backend.clock.now(), timedelta(hours=1)),
                                                                  setattr(e, "description", "ERP")))
            rotated.append(changed.secret)
            return Answer()

    sender = MerchantWebhookSender(store, RotatingMidSend(), backend.clock)
    msg = message("msg_1", "order.paid", {}, now)
    delivery: Delivery = endpoint_delivery("dlv_1", "we_shop", msg, now, "msg_1:we_shop")
    delivery.attempts = 1
    outcome = await sender(delivery)
    assert not outcome.delivered and outcome.retry
    stored = await store.get("we_shop")
    assert stored.secret == rotated[0] and len(stored.signing_secrets(now)) == 2 and stored.description == "ERP"
    assert stored.failing_since == now  # and the failure is noted too
    assert await store.change("we_missing", lambda e: None) is None
