"""Postgres-only: events go to the outbox in the committing transaction; the relay sends leftovers."""
from __future__ import annotations

import asyncio

import pg_builders as b
from adapters.memory.infrastructure import InMemoryEventBus
from adapters.postgres.outbox import OutboxRelay
from adapters.postgres.uow import PostgresUnitOfWork
from domain import events


class FailingBus:
    def __init__(self) -> None:
        self.attempts = 0

    async def publish(self, event) -> None:
        self.attempts += 1
        raise ConnectionError("bus down")

    def subscribe(self, event_type, handler) -> None: ...

    def delivers(self, event) -> bool:
        return True


class GatedBus:
    """Publishing waits until the test opens the gate (a relay holds its rows meanwhile)."""

    def __init__(self) -> None:
        self.gate, self.entered, self.published = asyncio.Event(), asyncio.Event(), []

    async def publish(self, event) -> None:
        self.entered.set()
        await self.gate.wait()
        self.published.append(event)

    def subscribe(self, event_type, handler) -> None: ...

    def delivers(self, event) -> bool:
        return True


async def _outbox(pool) -> list[tuple]:
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute("SELECT event_name, payload, published_at IS NOT NULL FROM outbox ORDER BY seq")
        return await cur.fetchall()


async def _place_order(pool, bus, order_id: str = "ord_1", commit: bool = True) -> None:
    async with PostgresUnitOfWork(pool, bus) as uow:
        await uow.orders.add(b.order(order_id))
        if commit:
            await uow.commit()


async def test_commit_writes_the_outbox_and_marks_what_it_published(pg_backend):
    await _place_order(pg_backend.pool, pg_backend.bus)
    [(name, payload, published)] = await _outbox(pg_backend.pool)
    assert (name, published) == ("ORDER_CREATED", True)
    assert events.event_from_dict(payload) == pg_backend.published[0]


async def test_a_rolled_back_unit_of_work_writes_no_outbox_rows(pg_backend):
    await _place_order(pg_backend.pool, pg_backend.bus, commit=False)
    assert await _outbox(pg_backend.pool) == []


async def test_the_relay_publishes_what_a_failing_bus_left_once_and_in_order(pg_backend):
    pool, failing = pg_backend.pool, FailingBus()
    await _place_order(pool, failing, "ord_1")
    await _place_order(pool, failing, "ord_2")
    assert failing.attempts == 2
    assert [row[2] for row in await _outbox(pool)] == [False, False]
    assert await OutboxRelay(pool, failing, grace_seconds=0).relay_once(10) == 0
    relay = OutboxRelay(pool, pg_backend.bus, grace_seconds=0)
    assert await relay.relay_once(10) == 2
    assert [e.order_id for e in pg_backend.published] == ["ord_1", "ord_2"]
    assert await relay.relay_once(10) == 0
    assert [row[2] for row in await _outbox(pool)] == [True, True]


async def test_the_relay_leaves_fresh_rows_to_their_unit_of_work(pg_backend):
    await _place_order(pg_backend.pool, FailingBus())
    assert await OutboxRelay(pg_backend.pool, pg_backend.bus, grace_seconds=60).relay_once(10) == 0


async def test_two_relays_never_send_the_same_row(pg_backend):
    pool = pg_backend.pool
    for n in range(3):
        await _place_order(pool, FailingBus(), f"ord_{n}")
    gated = GatedBus()
    first = asyncio.create_task(OutboxRelay(pool, gated, grace_seconds=0).relay_once(10))
    await gated.entered.wait()  # the first relay holds all three rows now
    assert await OutboxRelay(pool, pg_backend.bus, grace_seconds=0).relay_once(10) == 0
    gated.gate.set()
    assert await first == 3
    assert [e.order_id for e in gated.published] == ["ord_0", "ord_1", "ord_2"]
    assert pg_backend.published == []


async def test_purge_deletes_only_old_published_rows(pg_backend):
    await _place_order(pg_backend.pool, pg_backend.bus)
    relay = OutboxRelay(pg_backend.pool, pg_backend.bus)
    assert await relay.purge(3600) == 0
    assert await relay.purge(0) == 1


async def test_an_event_nobody_receives_is_recorded_as_published(pg_pool):
    quiet = InMemoryEventBus()  # nothing subscribed: publishing would reach nobody
    await _place_order(pg_pool, quiet)
    [(name, _payload, published)] = await _outbox(pg_pool)
    assert (name, published) == ("ORDER_CREATED", True)
    assert await OutboxRelay(pg_pool, quiet, grace_seconds=0).relay_once(10) == 0
