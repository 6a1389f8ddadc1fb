"""Row locks really serialise money decisions; optimistic versions catch lost updates."""
from __future__ import annotations

import asyncio

import psycopg2
import pytest

import pg_builders as b
from adapters.postgres import db
from adapters.postgres.pool import create_pool
from adapters.postgres.uow import PostgresUnitOfWork
from application.errors import ConcurrencyConflict
from domain.errors import RefundExceedsCaptured
from domain.payments import PaymentStatus, Refund

CAPTURED = 4800
EACH = 500


async def _succeeded_payment(backend) -> None:
    async with backend.uow() as uow:
        order = b.order()
        await uow.orders.add(order)
        await uow.payments.add(b.succeeded(b.payment(amount=CAPTURED), order))
        await uow.commit()


async def _refund_attempt(backend, n: int, *, lock: bool) -> str:
    async with backend.uow() as uow:
        payment = await (uow.payments.lock if lock else uow.payments.get)("pay_1")
        existing = await uow.refunds.for_payment("pay_1")
        await asyncio.sleep(0)  # let every other task run while this one holds the row
        refund = Refund.request(id=f"rfd_{n:02}", payment=payment, existing=existing, amount=EACH,
                                reason="duplicate", description=None, ctx=b.order().context(), now=b.at(n))
        await uow.refunds.add(refund)
        await uow.commit()
    return "refunded"


async def test_fifty_concurrent_refunds_never_exceed_the_captured_amount(backend):
    await _succeeded_payment(backend)
    outcomes = await asyncio.gather(*[_refund_attempt(backend, n, lock=True) for n in range(50)],
                                    return_exceptions=True)
    refused = [o for o in outcomes if o != "refunded"]
    assert all(isinstance(o, RefundExceedsCaptured) for o in refused), refused  # decided by the domain
    assert outcomes.count("refunded") == CAPTURED // EACH
    async with backend.uow() as uow:
        assert sum(r.amount for r in await uow.refunds.for_payment("pay_1")) == CAPTURED // EACH * EACH


async def test_without_the_lock_the_database_still_refuses_over_refunds(pg_backend):
    """Postgres-only: the memory unit of work is serialised as a whole, so it has no race to lose."""
    backend = pg_backend
    await _succeeded_payment(backend)
    outcomes = await asyncio.gather(*[_refund_attempt(backend, n, lock=False) for n in range(50)],
                                    return_exceptions=True)
    for outcome in outcomes:
        assert outcome == "refunded" or isinstance(outcome, (RefundExceedsCaptured, psycopg2.IntegrityError))
    async with backend.uow() as uow:
        assert sum(r.amount for r in await uow.refunds.for_payment("pay_1")) <= CAPTURED


async def _wait_until_blocked(pool, count: int = 1) -> None:
    """Deterministic: wait until ``count`` other sessions wait on a row lock."""
    async with pool.acquire() as conn, conn.cursor() as cur:
        for _ in range(500):
            await cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                              "AND wait_event_type = 'Lock'")
            if (await cur.fetchone())[0] >= count:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("no session ever waited on the lock")


async def test_lock_blocks_a_second_locker_until_commit(pg_pool, pg_backend):
    backend = pg_backend
    await _succeeded_payment(backend)

    async def second() -> int:
        async with PostgresUnitOfWork(pg_pool, backend.bus) as uow:
            return (await uow.payments.lock("pay_1")).attempts

    async with PostgresUnitOfWork(pg_pool, backend.bus) as first:
        payment = await first.payments.lock("pay_1")
        waiter = asyncio.create_task(second())
        await _wait_until_blocked(pg_pool)
        assert not waiter.done()
        payment.attempts += 1
        await first.payments.save(payment)
        await first.commit()
    assert await waiter == 1, "the second locker reads the row as the first committed it"


async def test_two_overlapping_units_of_work_second_save_conflicts(pg_pool, pg_backend):
    """Postgres-only: the memory unit of work holds a global lock for its life, two cannot overlap
    (the contract test ``test_save_after_a_competing_change_is_a_conflict`` covers both)."""
    backend = pg_backend
    await _succeeded_payment(backend)
    async with backend.uow() as uow:
        await uow.orders.add(b.order("ord_2"))
        await uow.payments.add(b.payment("pay_2", order_id="ord_2"))
        await uow.commit()
    async with PostgresUnitOfWork(pg_pool, backend.bus) as a, PostgresUnitOfWork(pg_pool, backend.bus) as b_:
        pay_a, pay_b = await a.payments.get("pay_2"), await b_.payments.get("pay_2")
        pay_a.mark(PaymentStatus.PROCESSING, b.at(1))
        await a.payments.save(pay_a)
        saving_b = asyncio.create_task(_save_after_mark(b_, pay_b))
        await _wait_until_blocked(pg_pool)  # b waits on a's row lock, then re-checks the version
        await a.commit()
        with pytest.raises(ConcurrencyConflict):
            await saving_b
    async with backend.uow() as uow:
        assert (await uow.payments.get("pay_2")).version == 1


async def _save_after_mark(uow, payment) -> None:
    payment.mark(PaymentStatus.REQUIRES_ACTION, b.at(2))
    await uow.payments.save(payment)


async def test_lock_after_get_refreshes_an_unchanged_object(pg_pool, pg_backend):
    """Postgres-only: another transaction commits between this one's get and lock."""
    backend = pg_backend
    await _succeeded_payment(backend)
    async with PostgresUnitOfWork(pg_pool, backend.bus) as uow:
        seen = await uow.payments.get("pay_1")
        await backend.competing_write("payments", "pay_1")
        locked = await uow.payments.lock("pay_1")
        assert locked is seen and locked.version == 2
        locked.attempts += 1
        await uow.payments.save(locked)
        await uow.commit()


async def _exclusive_lock_free(pool, table: str) -> bool:
    """Whether another session could take ``table`` exclusively right now (no transaction holds it)."""
    async with pool.acquire() as conn, conn.cursor() as cur:
        try:
            await cur.execute(f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE NOWAIT")
            return True
        except psycopg2.errors.LockNotAvailable:
            return False
        finally:
            await cur.execute("ROLLBACK")


async def test_plain_reads_hold_no_transaction_until_the_first_lock_or_write(pg_pool, pg_backend):
    async with PostgresUnitOfWork(pg_pool, pg_backend.bus) as uow:
        await uow.orders.add(b.order())
        await uow.commit()
    async with PostgresUnitOfWork(pg_pool, pg_backend.bus) as uow:
        assert (await uow.orders.get("ord_1")).id == "ord_1"
        assert await _exclusive_lock_free(pg_pool, "orders"), "a plain read opened no transaction"
        await uow.orders.lock("ord_1")
        assert not await _exclusive_lock_free(pg_pool, "orders"), "the lock is held until the end"
    assert await _exclusive_lock_free(pg_pool, "orders")


async def test_connections_are_handed_out_in_arrival_order(pg_dsn):
    """A request that waited for a connection gets it before one that arrives after its release
    (aiopg alone lets the newcomer take it, and under load a few requests starve)."""
    resource = create_pool(pg_dsn, minsize=1, maxsize=1)
    pool = await resource.__anext__()
    try:
        held = await db.acquire(pool)
        served = []

        async def take(name: str) -> None:
            conn = await db.acquire(pool)
            served.append(name)
            await db.release(pool, conn)
        first = asyncio.create_task(take("waited"))
        await asyncio.sleep(0.01)  # it is waiting now
        newcomer = asyncio.create_task(take("came later"))  # runs at the release's first await
        await db.release(pool, held)
        await asyncio.wait_for(asyncio.gather(first, newcomer), 5)
        assert served == ["waited", "came later"]
    finally:
        await resource.aclose()
