"""Redis Streams event bus: groups, one delivery per group, redelivery of failures, dead letters."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapters.metrics import Metrics
from adapters.redis import RedisStreamsEventBus
from domain.events import DomainEvent, OrderCreated, PaymentCompleted

pytestmark = pytest.mark.redis
FAST = {"block": 0.05, "claim_idle": 0.2, "claim_every": 0.1}


def order_created(n: int) -> OrderCreated:
    return OrderCreated(user_id="u_1", user_email="a@x.io", user_name="Ada", workspace_id=None,
                        order_id=f"ord_{n}", order_number=f"PP-260301-{n:08d}",
                        timestamp=datetime(2026, 3, 1, 9, 0, n % 60, 1000 + n, tzinfo=UTC),
                        subtotal=1000, tax=75, total=1075, currency="NGN", item_count=1)


async def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting for deliveries"
        await asyncio.sleep(0.02)


@pytest.fixture
async def buses(client_factory, prefix):
    """Makes started buses (each on its own client, like separate processes); stops them all."""
    started: list[RedisStreamsEventBus] = []

    async def make(group: str, consumer: str, **kwargs) -> RedisStreamsEventBus:
        bus = RedisStreamsEventBus(await client_factory(), prefix, group=group, consumer=consumer, **{**FAST, **kwargs})
        started.append(bus)
        return bus

    yield make
    for bus in started:
        await bus.stop()


async def test_one_group_two_processes_deliver_each_event_once(buses, prefix):
    got: list[tuple[str, str]] = []
    a, b = await buses("notifications", "api-1"), await buses("notifications", "api-2")
    for bus in (a, b):
        bus.subscribe(OrderCreated, lambda e, name=bus.consumer: _record(got, name, e))
        await bus.start()
    events = [order_created(n) for n in range(40)]
    for event in events:
        await a.publish(event)
    await wait_for(lambda: len(got) >= 40)
    await asyncio.sleep(0.3)  # nothing more may arrive (no duplicates, nothing pending)
    assert sorted(order_id for _, order_id in got) == sorted(e.order_id for e in events)
    assert a.delivered + b.delivered == 40
    pending = await a.redis.xpending(a.key, "notifications")
    assert pending["pending"] == 0


async def _record(got: list, consumer: str, event: DomainEvent) -> None:
    got.append((consumer, event.order_id))
    await asyncio.sleep(0)  # let the other consumer interleave


async def test_every_group_gets_every_event_rebuilt_exactly(buses):
    seen: dict[str, list[DomainEvent]] = {"notifications": [], "analytics": []}
    publisher = await buses("publisher", "p")
    for group in seen:
        bus = await buses(group, f"{group}-1")
        bus.subscribe(DomainEvent, lambda e, group=group: _append(seen[group], e))
        await bus.start()
    event = PaymentCompleted(user_id="u_1", user_email=None, user_name=None, workspace_id="ws_1", order_id="ord_1",
                             order_number="PP-1", timestamp=datetime(2026, 3, 1, tzinfo=UTC), payment_id="pay_1",
                             amount=150000, currency="NGN", gateway="paystack", gateway_reference=None)
    await publisher.publish(event)
    await wait_for(lambda: all(seen.values()))
    assert seen["notifications"] == [event] and seen["analytics"] == [event]


async def _append(target: list, event: DomainEvent) -> None:
    target.append(event)


async def test_failed_handler_leaves_it_pending_then_it_is_claimed_and_redelivered(buses):
    metrics = Metrics()
    attempts: list[str] = []
    delivered: list[str] = []

    async def flaky(event: DomainEvent) -> None:
        attempts.append(event.order_id)
        if len(attempts) == 1:
            raise RuntimeError("notification store down")
        delivered.append(event.order_id)

    bus = await buses("notifications", "worker-1", metrics=metrics)
    bus.subscribe(OrderCreated, flaky)
    await bus.start()
    await bus.publish(order_created(1))
    await wait_for(lambda: len(attempts) == 1)
    await asyncio.sleep(0.05)
    assert (await bus.redis.xpending(bus.key, "notifications"))["pending"] == 1  # not acked
    assert bus.failures == 1
    assert metrics.registry.get_sample_value("payport_event_handler_failures_total", {"event": "ORDER_CREATED"}) == 1
    await wait_for(lambda: delivered == ["ord_1"])  # XAUTOCLAIM after claim_idle, handler runs again
    await wait_for(lambda: bus.delivered == 1)
    assert (await bus.redis.xpending(bus.key, "notifications"))["pending"] == 0


async def test_entries_of_a_dead_consumer_are_taken_over(buses, client_factory, prefix):
    crashed = RedisStreamsEventBus(await client_factory(), prefix, group="notifications", consumer="dead-1")
    await crashed.ensure_group()
    await crashed.publish(order_created(7))
    await crashed.redis.xreadgroup("notifications", "dead-1", {crashed.key: ">"}, count=10)  # read, never acked
    got: list[str] = []
    survivor = await buses("notifications", "alive-1")
    survivor.subscribe(OrderCreated, lambda e: _append(got, e.order_id))
    await survivor.start()
    await wait_for(lambda: got == ["ord_7"])


async def test_poison_entries_go_to_the_dead_letter_stream(buses):
    always: list[str] = []

    async def broken(event: DomainEvent) -> None:
        always.append(event.order_id)
        raise RuntimeError("bug")

    bus = await buses("notifications", "w", max_deliveries=2)
    bus.subscribe(OrderCreated, broken)
    await bus.start()
    await bus.redis.xadd(bus.key, {b"event": b"{not json"})
    await bus.publish(order_created(3))
    for _ in range(250):
        dead = await bus.redis.xrange(bus.dead_key)
        if len(dead) == 2:
            break
        await asyncio.sleep(0.02)
    assert [fields[b"reason"] for _, fields in dead] == [b"undecodable", b"max_deliveries"]
    assert (await bus.redis.xpending(bus.key, "notifications"))["pending"] == 0
    assert len(always) == 2


async def test_loop_survives_redis_outage_and_stops_cleanly(client_factory, prefix):
    bus = RedisStreamsEventBus(await client_factory("redis://127.0.0.1:1/0", socket_timeout=0.2,
                                                    connect_timeout=0.2), prefix, **FAST)
    stop = asyncio.Event()
    task = asyncio.create_task(bus.run(stop))
    await asyncio.sleep(0.5)
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, 6)


async def test_publish_fails_loudly_when_redis_is_down(dead_redis, prefix):
    with pytest.raises(Exception):
        await RedisStreamsEventBus(dead_redis, prefix).publish(order_created(1))


async def test_stream_is_bounded_and_block_respects_socket_timeout(redis_client, client_factory, prefix):
    bus = RedisStreamsEventBus(redis_client, prefix, maxlen=10)
    for n in range(300):
        await bus.publish(order_created(n))
    assert await redis_client.xlen(bus.key) < 300
    short = RedisStreamsEventBus(await client_factory(socket_timeout=0.5), prefix, block=5)
    assert short.block_ms == 250


async def test_stop_removes_an_idle_consumer_from_the_group(client_factory, prefix):
    bus = RedisStreamsEventBus(await client_factory(), prefix, group="notifications", consumer="deploy-1", **FAST)
    await bus.start()
    await bus.publish(order_created(1))
    await wait_for(lambda: bus.delivered == 1)
    assert [c["name"] for c in await bus.redis.xinfo_consumers(bus.key, "notifications")] == [b"deploy-1"]
    await bus.stop()
    assert await bus.redis.xinfo_consumers(bus.key, "notifications") == []
