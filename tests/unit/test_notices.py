"""Notices are registered beside their events (issue 12: no central list a new context edits): the
events told as before, with the same keys, and a new context's event notified without an edit of
``domain/notifications.py`` or ``application/notifications.py``."""
from __future__ import annotations

import attrs
import pytest

import domain.support
from application.notifications import Notifications
from domain import events, notifications
from domain.notifications import compose, event_key, notified, notifies
from tests.unit.test_orders_payments import OTHER_EVENTS, SAMPLE_EVENTS, STAMP


@pytest.fixture
def scratch_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "_BY_NAME", dict(events._BY_NAME))
    monkeypatch.setattr(notifications, "_WORDINGS", dict(notifications._WORDINGS))


def test_the_events_told_are_those_of_before() -> None:
    assert set(notified()) == {
        events.OrderCreated, events.PaymentInitiated, events.PaymentCompleted, events.PaymentFailed,
        events.RefundRequested, events.RefundCompleted, domain.support.SupportReplied, events.OrderProcessing,
        events.OrderCompleted}
    told = {type(e) for e in SAMPLE_EVENTS + OTHER_EVENTS if compose(e) is not None}
    assert told == set(notified())  # RefundFailed, OrderCancelled, PaymentBlocked: no notice


def test_a_contexts_notice_is_worded_beside_its_event() -> None:
    assert notifications._WORDINGS[domain.support.SupportReplied].compose.__module__ == "domain.support"


def test_each_notice_keeps_its_key() -> None:
    keys = {e.name: event_key(e) for e in SAMPLE_EVENTS + OTHER_EVENTS if compose(e) is not None}
    order_id = SAMPLE_EVENTS[0].order_id
    assert keys == {
        "ORDER_CREATED": f"ORDER_CREATED:{order_id}", "PAYMENT_INITIATED": "PAYMENT_INITIATED:p1",
        "PAYMENT_COMPLETED": "PAYMENT_COMPLETED:p1", "PAYMENT_FAILED": "PAYMENT_FAILED:p1",
        "REFUND_REQUESTED": "REFUND_REQUESTED:r1", "REFUND_COMPLETED": "REFUND_COMPLETED:r1",
        "ORDER_PROCESSING": f"ORDER_PROCESSING:{order_id}", "ORDER_COMPLETED": f"ORDER_COMPLETED:{order_id}",
        "SUPPORT_REPLIED": "SUPPORT_REPLIED:m1",
    }


class _Recorded:
    def __init__(self) -> None:
        self.notes: list[notifications.Notification] = []
        self.after: list[object] = []
        self.notifications = self

    async def add_at_commit(self, note: notifications.Notification) -> None:
        self.notes.append(note)

    def after_commit(self, action: object) -> None:
        self.after.append(action)


class _Ids:
    def new_id(self, prefix: str) -> str:
        return f"{prefix}_1"


class _Notifier:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send(self, **notice: str) -> None:
        self.sent.append(notice)


async def test_a_new_contexts_event_is_notified_without_editing_the_notifications(scratch_registries: None) -> None:
    @attrs.frozen(kw_only=True)
    class WishOnSale(events.DomainEvent, name="TEST_WISH_ON_SALE"):
        user_id: str
        sku: str
        wish_id: str

    @notifies(WishOnSale, subject="wish_id")
    def _on_sale(e: WishOnSale) -> notifications.Notice:
        return "wish_on_sale", "On sale", f"{e.sku} is on sale."

    uow = _Recorded()
    notifier = _Notifier()
    service = Notifications(uow=lambda: uow, read_model=None, ids=_Ids(), notifier=notifier)  # type: ignore[arg-type]
    refund_failed = SAMPLE_EVENTS[7]
    assert isinstance(refund_failed, events.RefundFailed)  # not notified: left out
    await service.record(uow, [WishOnSale(timestamp=STAMP, user_id="u1", sku="TEE-1", wish_id="w1"),  # type: ignore[arg-type]
                               refund_failed])
    [note] = uow.notes
    assert (note.user_id, note.kind, note.title, note.body, note.event_key) == (
        "u1", "wish_on_sale", "On sale", "TEE-1 is on sale.", "TEST_WISH_ON_SALE:w1")
    [tell] = uow.after  # told to the Notifier once committed
    await tell()
    assert notifier.sent == [{"user_id": "u1", "kind": "wish_on_sale", "title": "On sale", "body": "TEE-1 is on sale."}]


def test_an_event_is_worded_once(scratch_registries: None) -> None:
    with pytest.raises(ValueError, match="OrderCreated"):
        notifies(events.OrderCreated)(lambda e: None)
