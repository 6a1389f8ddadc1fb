"""In-transaction subscribers and after-commit actions (the notification service's path), on the
memory adapter and on Postgres (the ``backend`` fixture)."""
from __future__ import annotations

import logging

import pytest

import pg_builders as b
from adapters.memory.infrastructure import LogNotifier
from adapters.system import RandomIds
from application.notifications import Notifications


@pytest.fixture
def notices(backend):
    notifier = LogNotifier()
    service = Notifications(backend.uow, backend.read_model, RandomIds(backend.clock), notifier)
    service.subscribe_to(backend.uow)
    return notifier


async def _notes(backend, user_id: str = "usr_1") -> list:
    page = await backend.read_model.list_notifications(user_id=user_id, unread_only=False, limit=50, cursor=None)
    return page.results


async def test_a_notification_commits_with_the_change_and_is_sent_after_it(backend, notices):
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        await uow.commit()
        assert notices.sent == [], "delivery waits until the transaction is over"
    [note] = await _notes(backend)
    assert (note.kind, note.event_key) == ("order_created", "ORDER_CREATED:ord_1")
    assert [s["kind"] for s in notices.sent] == ["order_created"]
    assert len(backend.published) == 1, "the bus still carries the event"


async def test_a_rolled_back_change_leaves_no_notification_and_sends_nothing(backend, notices):
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
    with pytest.raises(RuntimeError):
        async with backend.uow() as uow:
            await uow.orders.add(b.order("ord_2"))
            await uow.commit()
            raise RuntimeError("after commit: the change stays, so does its notice")
    assert [n.event_key for n in await _notes(backend)] == ["ORDER_CREATED:ord_2"]
    assert len(notices.sent) == 1


async def test_a_subscriber_that_fails_fails_the_commit_and_nothing_is_written(backend):
    async def broken(uow, raised) -> None:
        await uow.products.add(b.product())
        raise RuntimeError("subscriber bug")
    backend.uow.subscribe(broken)
    with pytest.raises(RuntimeError):
        async with backend.uow() as uow:
            await uow.orders.add(b.order())
            await uow.commit()
    async with backend.uow() as uow:
        assert await uow.orders.get("ord_1") is None
        assert await uow.products.get("prd_TEE-1") is None
    assert backend.published == []


async def test_the_same_event_recorded_twice_gives_one_notification(backend, notices):
    service = Notifications(backend.uow, backend.read_model, RandomIds(backend.clock), notices)
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        await uow.commit()
    async with backend.uow() as uow:  # the same event again (as a replay would bring it)
        await service.record(uow, [backend.published[0]])
        await uow.commit()
    assert len(await _notes(backend)) == 1  # the row is kept once; the Notifier is told per recording


async def test_a_failing_after_commit_action_is_logged_and_the_change_kept(backend, caplog):
    ran = []

    async def fails() -> None:
        raise ConnectionError("push service down")

    async def works() -> None:
        ran.append("second")
    with caplog.at_level(logging.ERROR):
        async with backend.uow() as uow:
            await uow.orders.add(b.order())
            uow.after_commit(fails)
            uow.after_commit(works)
            await uow.commit()
    assert ran == ["second"]
    assert "after-commit action failed" in caplog.text
    async with backend.uow() as uow:
        assert await uow.orders.get("ord_1") is not None


async def test_after_commit_actions_of_a_rollback_never_run(backend):
    ran = []

    async def action() -> None:
        ran.append(1)
    async with backend.uow() as uow:
        await uow.orders.add(b.order())
        uow.after_commit(action)
    assert ran == []
