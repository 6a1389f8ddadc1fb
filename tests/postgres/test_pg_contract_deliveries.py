"""Contract of the delivery queue (``uow.deliveries`` + ``DeliveryQueue``) and its dispatcher, on
memory and Postgres; then two dispatchers racing on Postgres, which never send a row twice."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from adapters.memory.deliveries import MemoryDeliveryQueue
from adapters.postgres.deliveries import PostgresDeliveryQueue
from application.deliveries import DeliveryDispatcher
from application.ports.deliveries import Delivery, DeliveryOutcome, DeliveryStatus, backoff

LEASE = 60.0


def queue_for(backend, delay=lambda attempt: 10.0 * attempt):
    if backend.name == "memory":
        return MemoryDeliveryQueue(backend.store, backend.clock, delay=delay)
    return PostgresDeliveryQueue(backend.pool, backend.clock, delay=delay)


def delivery(backend, n: int, channel: str = "merchant_webhook", max_attempts: int = 3) -> Delivery:
    return Delivery.new(f"dlv_{n}", channel, f"event-{n}", {"n": n, "nested": {"ok": True}}, backend.clock.now(),
                        max_attempts=max_attempts)


async def enqueue(backend, *deliveries: Delivery, commit: bool = True) -> None:
    async with backend.uow() as uow:
        for d in deliveries:
            await uow.deliveries.enqueue(d)
        if commit:
            await uow.commit()


async def claim(queue, channels=("merchant_webhook",), limit: int = 10) -> list[Delivery]:
    return await queue.claim(list(channels), limit=limit, lease_seconds=LEASE)


async def test_a_delivery_commits_with_its_unit_of_work_once_per_dedup_key(backend):
    queue = queue_for(backend)
    await enqueue(backend, delivery(backend, 1), commit=False)
    assert await queue.get("dlv_1") is None  # rolled back with the change that caused it
    await enqueue(backend, delivery(backend, 1))
    again = Delivery.new("dlv_2", "merchant_webhook", "event-1", {"n": 2}, backend.clock.now())
    await enqueue(backend, again, Delivery.new("dlv_3", "email", "event-1", {"n": 3}, backend.clock.now()))
    stored = await queue.get("dlv_1")
    assert (stored.status, stored.attempts, stored.payload, stored.max_attempts) == (
        DeliveryStatus.PENDING, 0, {"n": 1, "nested": {"ok": True}}, 3)
    assert await queue.get("dlv_2") is None  # same channel and key: the first one stands
    assert (await queue.get("dlv_3")).channel == "email"  # the key is unique per channel


async def test_claim_takes_due_rows_of_its_channels_earliest_first_and_leases_them(backend):
    queue = queue_for(backend)
    first, second, other = delivery(backend, 1), delivery(backend, 2), delivery(backend, 3, channel="email")
    later = delivery(backend, 4)
    later.next_attempt_at = backend.clock.now() + timedelta(seconds=30)
    second.next_attempt_at = first.next_attempt_at - timedelta(seconds=1)
    await enqueue(backend, first, second, other, later)
    claimed = await claim(queue, limit=10)
    assert [(d.id, d.attempts) for d in claimed] == [("dlv_2", 1), ("dlv_1", 1)]
    assert claimed[0].next_attempt_at == backend.clock.now() + timedelta(seconds=LEASE)
    assert await claim(queue) == []  # leased: nobody else gets them
    backend.clock.advance(30)
    assert [d.id for d in await claim(queue)] == ["dlv_4"]
    backend.clock.advance(LEASE)  # the first claims ran out (a dispatcher died mid-send): claimed again
    assert [(d.id, d.attempts) for d in await claim(queue, limit=1)] == [("dlv_1", 2)]  # due together: by id


async def test_outcomes_deliver_reschedule_with_backoff_and_give_up(backend):
    queue = queue_for(backend)
    await enqueue(backend, delivery(backend, 1), delivery(backend, 2), delivery(backend, 3))
    one, two, three = await claim(queue)
    started = backend.clock.now()
    backend.clock.advance(1)
    assert await queue.record(one, DeliveryOutcome.ok(200, "ok"), started_at=started, duration_ms=1000) \
        is DeliveryStatus.DELIVERED
    assert await queue.record(two, DeliveryOutcome.failed("HTTP 503", 503), started_at=started, duration_ms=7) \
        is DeliveryStatus.FAILED
    assert await queue.record(three, DeliveryOutcome.failed("HTTP 410", 410, retry=False), started_at=started,
                              duration_ms=3) is DeliveryStatus.DEAD
    done, failed, dead = [await queue.get(d.id) for d in (one, two, three)]
    assert (done.status, done.delivered_at, done.last_error) == (DeliveryStatus.DELIVERED, backend.clock.now(), None)
    assert (failed.status, failed.last_error) == (DeliveryStatus.FAILED, "HTTP 503")
    assert failed.next_attempt_at == backend.clock.now() + timedelta(seconds=10)  # delay(1)
    assert (dead.status, dead.delivered_at) == (DeliveryStatus.DEAD, None)
    [attempt] = await queue.attempts(two.id)
    assert (attempt.attempt, attempt.started_at, attempt.duration_ms, attempt.outcome, attempt.status_code,
            attempt.detail) == (1, started, 7, DeliveryStatus.FAILED, 503, "HTTP 503")

    assert await claim(queue) == []  # not due before its backoff
    for n in (2, 3):
        backend.clock.advance(10 * (n - 1))
        [two] = await claim(queue)
        assert two.attempts == n
        await queue.record(two, DeliveryOutcome.failed("timeout"), started_at=backend.clock.now(), duration_ms=0)
    assert (await queue.get(two.id)).status is DeliveryStatus.DEAD  # out of attempts (3)
    assert [a.outcome for a in await queue.attempts(two.id)] == [DeliveryStatus.FAILED] * 2 + [DeliveryStatus.DEAD]


async def test_an_outcome_recorded_after_the_lease_ran_out_is_logged_and_moves_nothing(backend):
    queue = queue_for(backend)
    await enqueue(backend, delivery(backend, 1))
    [slow] = await claim(queue)
    backend.clock.advance(LEASE)
    [again] = await claim(queue)  # another dispatcher took it over
    assert await queue.record(slow, DeliveryOutcome.failed("late"), started_at=backend.clock.now(),
                              duration_ms=60_000) is None
    assert await queue.record(again, DeliveryOutcome.ok(204), started_at=backend.clock.now(), duration_ms=5) \
        is DeliveryStatus.DELIVERED
    assert (await queue.get("dlv_1")).status is DeliveryStatus.DELIVERED
    assert [(a.attempt, a.outcome) for a in await queue.attempts("dlv_1")] == [
        (1, DeliveryStatus.FAILED), (2, DeliveryStatus.DELIVERED)]


async def test_a_last_attempt_that_never_reported_is_given_up(backend):
    queue = queue_for(backend)
    await enqueue(backend, delivery(backend, 1, max_attempts=1))
    [lost] = await claim(queue)
    backend.clock.advance(LEASE)
    assert await claim(queue) == []
    dead = await queue.get(lost.id)
    assert dead.status is DeliveryStatus.DEAD and "lease ran out" in dead.last_error


async def test_the_dispatcher_sends_each_channel_with_its_sender_and_survives_a_broken_one(backend):
    queue = queue_for(backend)
    sent = []

    async def webhook(d: Delivery) -> DeliveryOutcome:
        sent.append(d.id)
        return DeliveryOutcome.ok(200)

    async def broken(d: Delivery) -> DeliveryOutcome:
        raise ConnectionRefusedError("smtp down")

    async def slow(d: Delivery) -> DeliveryOutcome:
        await asyncio.sleep(10)
        return DeliveryOutcome.ok()
    await enqueue(backend, delivery(backend, 1), delivery(backend, 2, channel="email"),
                  delivery(backend, 3, channel="slow"), delivery(backend, 4, channel="nobody_sends_this"))
    dispatcher = DeliveryDispatcher(queue, {"merchant_webhook": webhook, "email": broken, "slow": slow},
                                    backend.clock, send_timeout=0.05)
    assert await dispatcher.run_once() == 3
    assert sent == ["dlv_1"]
    statuses = {n: (await queue.get(f"dlv_{n}")).status for n in (1, 2, 3, 4)}
    assert statuses == {1: DeliveryStatus.DELIVERED, 2: DeliveryStatus.FAILED, 3: DeliveryStatus.FAILED,
                        4: DeliveryStatus.PENDING}
    assert (await queue.get("dlv_2")).last_error == "ConnectionRefusedError: smtp down"
    assert (await queue.get("dlv_3")).last_error == "no answer within 0.05 s"
    assert await dispatcher.run_once() == 0  # the failed ones wait for their backoff


def test_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half():
    assert [backoff(n, rand=lambda: 0.0) for n in (1, 2, 3, 4)] == [2.5, 5.0, 10.0, 20.0]
    assert [backoff(n, rand=lambda: 1.0) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert backoff(30, rand=lambda: 1.0) == 3600.0


@pytest.mark.parametrize("run", range(3))
async def test_two_dispatchers_claiming_at_once_never_send_a_row_twice(pg_backend, run):
    """Postgres only: the memory store is serialised by its lock, so it cannot race."""
    rows = 300
    await enqueue(pg_backend, *(delivery(pg_backend, n) for n in range(rows)))
    sends: list[str] = []

    async def send(d: Delivery) -> DeliveryOutcome:
        sends.append(d.id)
        await asyncio.sleep(0)  # let the other dispatcher claim meanwhile
        return DeliveryOutcome.ok(200)

    def dispatcher() -> DeliveryDispatcher:
        return DeliveryDispatcher(PostgresDeliveryQueue(pg_backend.pool, pg_backend.clock), {"merchant_webhook": send},
                                  pg_backend.clock, batch=7, concurrency=4)
    first, second = dispatcher(), dispatcher()

    async def drain(d: DeliveryDispatcher) -> int:
        total = 0
        while n := await d.run_once():
            total += n
        return total
    counts = await asyncio.gather(drain(first), drain(second), drain(first))
    assert sum(counts) == rows and len(sends) == rows and len(set(sends)) == rows
    assert all(c > 0 for c in counts[:2])  # both really took part
    queue = PostgresDeliveryQueue(pg_backend.pool, pg_backend.clock)
    assert {(await queue.get(f"dlv_{n}")).status for n in range(0, rows, 37)} == {DeliveryStatus.DELIVERED}
