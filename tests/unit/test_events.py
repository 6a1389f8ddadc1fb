"""Domain events as a mechanism: self-registered names, the internal round trip (outbox, Redis
Streams), rows from before events had ids, and the public payload that leaves the process.

The events under test are discovered: every domain module is imported and every registered
event is exercised, so a new event is covered the moment it is declared.
"""
from __future__ import annotations

import importlib
import json
import pkgutil
import typing
from datetime import UTC, datetime

import attrs
import orjson
import pytest

import domain
from domain import events

STAMP = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
EMAIL, NAME = "ada.obi@example.com", "Ada Obi"


def _discover() -> dict[str, type[events.DomainEvent]]:
    for module in pkgutil.walk_packages(domain.__path__, "domain."):
        importlib.import_module(module.name)
    return dict(events.registered())


REGISTERED = _discover()

#: The public contract, by hand: type -> (version, data keys). A change to an event's fields
#: shows here, and must come with the next version= on the event.
PUBLIC_CONTRACT = {
    "order.created": (1, {"user_id", "workspace_id", "order_id", "order_number", "subtotal", "tax", "total",
                          "currency", "item_count"}),
    "order.cancelled": (1, {"user_id", "workspace_id", "order_id", "order_number", "reason"}),
    "payment.initiated": (1, {"user_id", "workspace_id", "order_id", "order_number", "payment_id", "amount",
                              "currency", "gateway", "reference"}),
    "payment.succeeded": (1, {"user_id", "workspace_id", "order_id", "order_number", "payment_id", "amount",
                              "currency", "gateway", "gateway_reference"}),
    "payment.failed": (1, {"user_id", "workspace_id", "order_id", "order_number", "payment_id", "amount",
                           "currency", "gateway", "error"}),
    "refund.requested": (1, {"user_id", "workspace_id", "order_id", "order_number", "refund_id", "payment_id",
                             "amount", "currency", "reason", "description"}),
    "refund.succeeded": (1, {"user_id", "workspace_id", "order_id", "order_number", "refund_id", "payment_id",
                             "amount", "currency"}),
    "refund.failed": (1, {"user_id", "workspace_id", "order_id", "order_number", "refund_id", "payment_id",
                          "amount", "currency", "error"}),
    # issue 17: fulfilment, and an attempt the fraud rules refused
    "order.processing": (1, {"user_id", "workspace_id", "order_id", "order_number", "carrier", "tracking_number",
                             "note"}),
    "order.completed": (1, {"user_id", "workspace_id", "order_id", "order_number", "note"}),
    "payment.blocked": (1, {"user_id", "workspace_id", "order_id", "order_number", "amount", "currency", "reasons"}),
}


def sample(cls: type[events.DomainEvent], **overrides: object) -> events.DomainEvent:
    """An instance of any event, every field filled from its type (personal data included)."""
    hints = typing.get_type_hints(cls)
    values: dict[str, object] = {"user_email": EMAIL, "user_name": NAME, "timestamp": STAMP}
    for field in attrs.fields(cls):
        if field.name in values or field.name == "event_id":
            continue
        hint = hints[field.name]
        if hint is int:
            values[field.name] = 42
        elif hint is datetime:
            values[field.name] = STAMP
        else:
            values[field.name] = f"{field.name}-1"
    return cls(**{**values, **overrides})


EVENTS = [pytest.param(cls, id=name) for name, cls in REGISTERED.items()]


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events declared by a test vanish with it (the real ones stay registered)."""
    monkeypatch.setattr(events, "_BY_NAME", dict(events._BY_NAME))


# -- registration ------------------------------------------------------------------------------

def test_the_events_of_today_are_registered_under_their_names() -> None:
    assert {name: cls.__name__ for name, cls in REGISTERED.items()} == {
        "ORDER_CREATED": "OrderCreated", "ORDER_CANCELLED": "OrderCancelled",
        "PAYMENT_INITIATED": "PaymentInitiated", "PAYMENT_COMPLETED": "PaymentCompleted",
        "PAYMENT_FAILED": "PaymentFailed", "REFUND_REQUESTED": "RefundRequested",
        "REFUND_COMPLETED": "RefundCompleted", "REFUND_FAILED": "RefundFailed",
        "ORDER_PROCESSING": "OrderProcessing", "ORDER_COMPLETED": "OrderCompleted",  # issue 17
        "PAYMENT_BLOCKED": "PaymentBlocked",
        "SUPPORT_REPLIED": "SupportReplied",
    }


#: Events about something else than an order (issue 18), by hand.
NOT_ABOUT_AN_ORDER = {"SUPPORT_REPLIED"}


@pytest.mark.parametrize("cls", EVENTS)
def test_a_registered_event_is_the_class_in_use(cls: type[events.DomainEvent]) -> None:
    module = importlib.import_module(cls.__module__)
    assert getattr(module, cls.__name__) is cls  # the slotted class attrs built, not its draft
    assert sample(cls).name == cls.name
    # every event but the few listed is about an order
    assert issubclass(cls, events.OrderEvent) is (cls.name not in NOT_ABOUT_AN_ORDER)


def test_a_declared_event_registers_and_decodes(scratch_registry: None) -> None:
    @attrs.frozen(kw_only=True)
    class TicketOpened(events.DomainEvent, name="TICKET_OPENED", public="ticket.opened", version=2):
        ticket_id: str

    assert events.registered()["TICKET_OPENED"] is TicketOpened
    event = TicketOpened(ticket_id="t1", timestamp=STAMP)
    assert events.event_from_dict(json.loads(json.dumps(event.to_dict()))) == event
    assert event.public() == {"id": event.event_id, "type": "ticket.opened", "version": 2,
                              "created_at": STAMP.isoformat(), "data": {"ticket_id": "t1"}}


def test_an_event_without_a_public_form_has_none(scratch_registry: None) -> None:
    @attrs.frozen(kw_only=True)
    class StockCounted(events.DomainEvent, name="STOCK_COUNTED"):
        sku: str

    event = StockCounted(sku="A", timestamp=STAMP)
    assert event.public() is None
    assert events.event_from_dict(event.to_dict()) == event


def test_a_base_without_a_name_is_not_an_event(scratch_registry: None) -> None:
    before = dict(events.registered())

    @attrs.frozen(kw_only=True)
    class TicketEvent(events.DomainEvent):
        ticket_id: str

    assert dict(events.registered()) == before


@pytest.mark.parametrize(("name", "public"), [("PAYMENT_COMPLETED", None), ("OTHER", "payment.succeeded")],
                         ids=["name", "public-type"])
def test_a_name_or_public_type_is_taken_once(scratch_registry: None, name: str, public: str | None) -> None:
    with pytest.raises(TypeError, match="PaymentCompleted"):
        @attrs.frozen(kw_only=True)
        class Impostor(events.OrderEvent, name=name, public=public):
            pass
    assert events.registered()["PAYMENT_COMPLETED"] is events.PaymentCompleted


def test_extending_an_event_needs_a_name_of_its_own(scratch_registry: None) -> None:
    with pytest.raises(TypeError, match="name="):
        @attrs.frozen(kw_only=True)
        class LatePaymentCompleted(events.PaymentCompleted):
            pass


# -- the internal form: outbox rows and Redis Streams ------------------------------------------

@pytest.mark.parametrize("cls", EVENTS)
def test_every_event_round_trips(cls: type[events.DomainEvent]) -> None:
    event = sample(cls)
    data = event.to_dict()
    assert data["event"] == cls.name and data["event_id"] == event.event_id
    assert data["timestamp"] == "2024-05-01T12:00:00.123456+00:00"
    for wire in (json.loads(json.dumps(data)), orjson.loads(orjson.dumps(data))):  # outbox, streams
        back = events.event_from_dict(wire)
        assert type(back) is cls and back == event
        assert back.event_id == event.event_id
        assert back.to_dict() == data


@pytest.mark.parametrize("cls", EVENTS)
def test_a_row_from_before_event_ids_still_loads(cls: type[events.DomainEvent]) -> None:
    legacy = sample(cls).to_dict()
    del legacy["event_id"]
    first = events.event_from_dict(json.loads(json.dumps(legacy)))
    again = events.event_from_dict(orjson.loads(orjson.dumps(legacy)))
    assert type(first) is cls and first == sample(cls)
    assert first.event_id == again.event_id  # relayed twice, still one event to a deduplicating consumer
    assert "event_id" not in legacy  # the input is not consumed or filled in
    other = events.event_from_dict({**legacy, "user_id": "another customer"})  # other content, other id
    assert other.event_id != first.event_id


def test_event_ids_tell_occurrences_apart_but_not_facts() -> None:
    cls = events.PaymentCompleted
    one, two = sample(cls), sample(cls)
    assert one.event_id != two.event_id
    assert one == two  # the same fact recorded twice
    assert sample(cls, event_id="e-1").event_id == "e-1"


def test_an_unknown_event_name_does_not_decode() -> None:
    data = {**sample(events.PaymentCompleted).to_dict(), "event": "NO_SUCH_EVENT"}
    with pytest.raises(KeyError):
        events.event_from_dict(data)


# -- the public payload: what leaves the process -------------------------------------------------

@pytest.mark.parametrize("cls", EVENTS)
def test_no_public_payload_carries_the_customers_email_or_name(cls: type[events.DomainEvent]) -> None:
    event = sample(cls)
    assert EMAIL in json.dumps(event.to_dict()) and NAME in json.dumps(event.to_dict())  # the sample has them
    payload = event.public()
    if payload is None:
        return
    text = json.dumps(payload)
    assert "user_email" not in text and "user_name" not in text
    assert EMAIL not in text and NAME not in text


@pytest.mark.parametrize("cls", EVENTS)
def test_the_public_payload_is_the_versioned_envelope(cls: type[events.DomainEvent]) -> None:
    event = sample(cls)
    payload = event.public()
    if cls.public_type is None:
        assert payload is None
        return
    assert orjson.loads(orjson.dumps(payload)) == payload  # plain JSON
    assert set(payload) == {"id", "type", "version", "created_at", "data"}
    assert (payload["id"], payload["type"], payload["version"], payload["created_at"]) == (
        event.event_id, cls.public_type, cls.public_version, "2024-05-01T12:00:00.123456+00:00")
    assert {"event_id", "timestamp", "event"}.isdisjoint(payload["data"])


def test_the_public_contract_is_exactly_the_written_one() -> None:
    found = {cls.public_type: (cls.public_version, set(sample(cls).public()["data"]))
             for cls in REGISTERED.values() if cls.public_type is not None}
    assert found == PUBLIC_CONTRACT
