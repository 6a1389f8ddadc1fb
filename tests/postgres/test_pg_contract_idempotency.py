"""IdempotencyStore contract: begin/replay/mismatch/in_flight/takeover, on memory and Postgres."""
from __future__ import annotations

import asyncio

import pytest

from application.ports import StoredResponse

RESPONSE = StoredResponse(201, "application/json", b'{"id": "pay_1", "amount": 4800}\x00\xff')


async def test_new_then_in_flight_then_replay(backend):
    store = backend.idempotency
    assert (await store.begin("usr_1", "k1", "fp", 30)).state == "new"
    assert (await store.begin("usr_1", "k1", "fp", 30)).state == "in_flight"
    await store.complete("usr_1", "k1", RESPONSE)
    replay = await store.begin("usr_1", "k1", "fp", 30)
    assert (replay.state, replay.response) == ("replay", RESPONSE)
    assert (await store.begin("usr_1", "k1", "other", 30)).state == "mismatch"


async def test_keys_are_scoped_per_caller(backend):
    store = backend.idempotency
    assert (await store.begin("usr_1", "k1", "fp", 30)).state == "new"
    assert (await store.begin("usr_2", "k1", "other", 30)).state == "new"


async def test_mismatch_wins_over_in_flight(backend):
    store = backend.idempotency
    await store.begin("usr_1", "k1", "fp", 30)
    assert (await store.begin("usr_1", "k1", "fp2", 30)).state == "mismatch"


async def test_a_stale_lock_is_taken_over_from_the_recovery_point(backend):
    store, clock = backend.idempotency, backend.clock
    await store.begin("usr_1", "k1", "fp", 30)
    await store.set_recovery_point("usr_1", "k1", "gateway_initialized")
    clock.advance(29)
    assert (await store.begin("usr_1", "k1", "fp", 30)).state == "in_flight"
    clock.advance(2)
    taken = await store.begin("usr_1", "k1", "fp", 30)
    assert (taken.state, taken.recovery_point) == ("new", "gateway_initialized")
    assert (await store.begin("usr_1", "k1", "fp", 30)).state == "in_flight"


async def test_a_released_key_is_taken_over_at_once(backend):
    store = backend.idempotency
    await store.begin("usr_1", "k1", "fp", 30)
    await store.release("usr_1", "k1")
    taken = await store.begin("usr_1", "k1", "fp", 30)
    assert (taken.state, taken.recovery_point) == ("new", None)
    await store.release("usr_1", "never-begun")  # no error


async def test_unknown_keys_cannot_be_completed(backend):
    with pytest.raises(KeyError):
        await backend.idempotency.complete("usr_1", "nope", RESPONSE)
    with pytest.raises(KeyError):
        await backend.idempotency.set_recovery_point("usr_1", "nope", "x")


async def test_concurrent_begins_have_exactly_one_owner(backend):
    results = await asyncio.gather(*[backend.idempotency.begin("usr_1", "k1", "fp", 30) for _ in range(20)])
    assert sorted(r.state for r in results) == ["in_flight"] * 19 + ["new"]


async def test_postgres_reaps_completed_keys_after_a_day_only(pg_backend):
    store, clock = pg_backend.idempotency, pg_backend.clock
    await store.begin("usr_1", "done", "fp", 30)
    await store.complete("usr_1", "done", RESPONSE)
    await store.begin("usr_1", "running", "fp", 30)
    with pytest.raises(ValueError):
        await store.reap(3600)
    clock.advance(86400 - 1)
    assert await store.reap() == 0
    clock.advance(2)
    assert await store.reap() == 1
    assert (await store.begin("usr_1", "done", "fp", 30)).state == "new"
    assert (await store.begin("usr_1", "running", "fp", 30)).state == "new"  # stale lock taken over, kept
