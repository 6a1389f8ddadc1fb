"""UnitOfWork contract: transaction boundary, events after commit, identity, optimistic versions.
Runs on the memory adapter and on Postgres (the ``backend`` fixture)."""
from __future__ import annotations

import pytest

import pg_builders as b
from application.errors import ConcurrencyConflict
from domain import events


async def test_nothing_persists_without_commit(backend):
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        await uow.products.add(b.product())
    async with backend.uow() as uow:
        assert await uow.orders.get("ord_1") is None
        assert await uow.products.get("prd_TEE-1") is None
    assert backend.published == []


async def test_an_exception_rolls_back(backend):
    with pytest.raises(RuntimeError):
        async with backend.uow() as uow:
            await uow.orders.add(b.order())
            raise RuntimeError("boom")
    async with backend.uow() as uow:
        assert await uow.orders.get("ord_1") is None


async def test_explicit_rollback_discards_writes(backend):
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        await uow.rollback()
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.orders.get("ord_1") is None
    assert backend.published == []


async def test_commit_persists_and_publishes_only_after_commit(backend, request):
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        assert backend.published == []
        await uow.commit()
    assert [type(e) for e in backend.published] == [events.OrderCreated]
    assert backend.published[0].order_id == "ord_1"
    async with backend.uow() as uow:
        assert (await uow.orders.get("ord_1")).id == "ord_1"
        await uow.commit()
    assert len(backend.published) == 1, "events are published once"


async def test_events_of_a_rolled_back_change_are_dropped(backend, request):
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        await uow.commit()
    backend.published.clear()
    async with backend.uow() as uow:
        order = await uow.orders.lock("ord_1")
        order.cancel(b.at(1))
        await uow.orders.save(order)
    async with backend.uow() as uow:
        order = await uow.orders.get("ord_1")
        assert order.status.value == "pending" and order.events == []
        await uow.commit()
    assert backend.published == []


async def test_events_of_loaded_aggregates_are_published_in_order(backend, request):
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        await uow.commit()
    backend.published.clear()
    async with backend.uow() as uow:
        order = await uow.orders.lock("ord_1")
        pay = b.payment()
        await uow.payments.add(pay)
        pay.started(order.context(), "gw_1", "https://pay/1", pay.status, b.at(1))
        await uow.payments.save(pay)
        order.cancel(b.at(2))
        await uow.orders.save(order)
        await uow.commit()
    assert {type(e) for e in backend.published} == {events.PaymentInitiated, events.OrderCancelled}


async def test_reads_in_one_unit_of_work_return_the_same_object(backend):
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        await uow.commit()
    async with backend.uow() as uow:
        first = await uow.orders.get("ord_1")
        assert await uow.orders.get("ord_1") is first
        assert await uow.orders.lock("ord_1") is first
        assert await uow.orders.get_by_checkout("nope") is None


async def test_save_after_a_competing_change_is_a_conflict(backend):
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        await uow.payments.add(b.payment())
        await uow.commit()
    async with backend.uow() as uow:
        pay = await uow.payments.get("pay_1")
        await backend.competing_write("payments", "pay_1")
        pay.mark(pay.status.__class__.PROCESSING, b.at(1))
        with pytest.raises(ConcurrencyConflict):
            await uow.payments.save(pay)


async def test_saving_twice_in_one_unit_of_work_is_fine(backend):
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        await uow.commit()
    async with backend.uow() as uow:
        order = await uow.orders.lock("ord_1")
        order.mark_paid(b.at(1))
        await uow.orders.save(order)
        order.start_processing(b.at(2))
        await uow.orders.save(order)
        await uow.commit()
    async with backend.uow() as uow:
        order = await uow.orders.get("ord_1")
        assert (order.status.value, order.version) == ("processing", 2)


async def test_a_unit_of_work_after_commit_sees_committed_state(backend):
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        await uow.commit()
        assert (await uow.orders.get("ord_1")).id == "ord_1"


async def test_repositories_are_made_on_first_use_one_per_unit_of_work(backend):
    async with backend.uow() as first:
        assert first.orders is first.orders  # made once, then an attribute like any other
        assert not hasattr(first, "no_such_repository")  # AttributeError, as for any missing attribute
    async with backend.uow() as second:
        assert second.orders is not first.orders
        assert second.orders.session is second.session
