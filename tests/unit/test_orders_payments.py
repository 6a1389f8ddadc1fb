"""Orders, payment intents, refunds, domain events and the notifications composed from them."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from domain import events
from domain.checkout import LineItem
from domain.errors import IllegalTransition, InvalidValue, RefundExceedsCaptured, RefundNotAllowed
from domain.notifications import Notification, compose
from domain.orders import EventContext, Order, OrderStatus
from domain.payments import (
    PAYMENT_WINDOW,
    PaymentIntent,
    PaymentStatus,
    Refund,
    RefundStatus,
    refundable_amount,
    refunded_amount,
)
from domain.support import SupportReplied
from domain.users import Principal, Role

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
ADA = Principal("u1", Role.CUSTOMER, email="ada@example.com", name="Ada Obi")
ITEMS = [LineItem("A", "id-A", "Lamp", 10_000, 2), LineItem("B", "id-B", "Mug", 2_500, 3)]


def place(owner: Principal = ADA, workspace_id: str | None = "ws-1") -> Order:
    return Order.place(id="o1", order_number="PP-0001", owner=owner, items=ITEMS, currency="NGN",
                       subtotal=27_500, discount=500, shipping=1_000, tax=2_025, total=30_025, now=NOW,
                       workspace_id=workspace_id, coupon_code="SAVE", checkout_id="cs1")


CTX = EventContext("u1", "ada@example.com", "Ada Obi", "ws-1", "o1", "PP-0001")
COMMON = {"user_id": "u1", "user_email": "ada@example.com", "user_name": "Ada Obi", "workspace_id": "ws-1",
          "order_id": "o1", "order_number": "PP-0001"}


# -- orders --------------------------------------------------------------------------------------

def test_place_builds_a_pending_order() -> None:
    order = place()
    assert order.status is OrderStatus.PENDING
    assert (order.owner_id, order.customer_email, order.customer_name) == ("u1", "ada@example.com", "Ada Obi")
    assert (order.subtotal, order.discount, order.shipping, order.tax, order.total) == (
        27_500, 500, 1_000, 2_025, 30_025)
    assert (order.workspace_id, order.coupon_code, order.checkout_id) == ("ws-1", "SAVE", "cs1")
    assert (order.created_at, order.updated_at, order.version) == (NOW, NOW, 0)
    assert order.items == ITEMS and order.items is not ITEMS


def test_place_records_order_created_with_all_common_fields() -> None:
    order = place()
    assert len(order.events) == 1
    event = order.events[0]
    assert isinstance(event, events.OrderCreated)
    assert {k: getattr(event, k) for k in COMMON} == COMMON
    assert event.timestamp == NOW
    assert (event.subtotal, event.tax, event.total, event.currency, event.item_count) == (
        27_500, 2_025, 30_025, "NGN", 5)
    assert event.name == "ORDER_CREATED"


def test_guest_order_event_has_no_email_or_workspace() -> None:
    guest = Principal("g-42", Role.GUEST)
    event = place(owner=guest, workspace_id=None).events[0]
    assert (event.user_id, event.user_email, event.user_name, event.workspace_id) == ("g-42", None, None, None)


def test_cancel_records_order_cancelled() -> None:
    order = place()
    order.events.clear()
    order.cancel(LATER, reason="changed my mind")
    assert order.status is OrderStatus.CANCELLED
    assert order.events == [events.OrderCancelled(**COMMON, timestamp=LATER, reason="changed my mind")]


@pytest.mark.parametrize("settled", [OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.COMPLETED])
def test_record_refunds_partial_then_full(settled: OrderStatus) -> None:
    order = place()
    order.status = settled
    order.record_refunds(3_000, 30_025, LATER)
    assert (order.status, order.version) == (OrderStatus.PARTIALLY_REFUNDED, 1)
    order.record_refunds(10_000, 30_025, LATER)          # still partial: no move, no version bump
    assert (order.status, order.version) == (OrderStatus.PARTIALLY_REFUNDED, 1)
    order.record_refunds(30_025, 30_025, LATER)
    assert (order.status, order.version) == (OrderStatus.REFUNDED, 2)
    order.record_refunds(30_025, 30_025, LATER)          # idempotent once refunded
    assert (order.status, order.version) == (OrderStatus.REFUNDED, 2)


def test_record_refunds_full_at_once() -> None:
    order = place()
    order.mark_paid(NOW)
    order.record_refunds(30_025, 30_025, LATER)
    assert order.status is OrderStatus.REFUNDED


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.CANCELLED, OrderStatus.FAILED])
def test_record_refunds_on_an_unpaid_order_raises(status: OrderStatus) -> None:
    order = place()
    order.status = status
    with pytest.raises(IllegalTransition):
        order.record_refunds(1_000, 30_025, LATER)
    assert order.status is status


def test_refunded_order_cannot_go_back_to_partial() -> None:
    order = place()
    order.status = OrderStatus.REFUNDED
    with pytest.raises(IllegalTransition):
        order.record_refunds(1_000, 30_025, LATER)


def test_record_refunds_with_nothing_refunded_keeps_the_order_paid() -> None:
    order = place()
    order.mark_paid(NOW)
    order.record_refunds(0, 30_025, LATER)
    assert order.status is OrderStatus.PAID


# -- payment intents -----------------------------------------------------------------------------

def intent(amount: int = 30_025, **kw) -> PaymentIntent:
    args = dict(id="p1", order_id="o1", owner_id="u1", amount=amount, currency="NGN", gateway="paystack",
                reference="ref-1", now=NOW)
    args.update(kw)
    return PaymentIntent.create(**args)


def test_create_payment_intent() -> None:
    p = intent(return_url="https://shop/return", email="ada@example.com")
    assert p.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert (p.amount, p.currency, p.gateway, p.reference) == (30_025, "NGN", "paystack", "ref-1")
    assert (p.created_at, p.expires_at) == (NOW, NOW + PAYMENT_WINDOW)
    assert PAYMENT_WINDOW == timedelta(minutes=31)  # Stripe's 30-minute minimum, and a minute of slack
    assert (p.attempts, p.captured_amount, p.version, p.events) == (0, 0, 0, [])
    assert not p.is_terminal


@pytest.mark.parametrize("amount", [0, -1, -30_025])
def test_create_rejects_non_positive_amounts(amount: int) -> None:
    with pytest.raises(InvalidValue):
        intent(amount)


@pytest.mark.parametrize(("amount", "currency"), [
    (100.5, "NGN"), (True, "NGN"), (10**13, "NGN"), (100, "XYZ"),
], ids=["float", "bool", "too-large", "unknown-currency"])
def test_create_rejects_amounts_that_are_not_money(amount, currency: str) -> None:
    try:
        intent(amount, currency=currency)
    except InvalidValue:  # UnknownCurrency is not an InvalidValue; either domain error would do
        return
    except Exception as exc:  # noqa: BLE001
        if type(exc).__name__ == "UnknownCurrency":
            return
        raise
    raise AssertionError(f"PaymentIntent accepted amount={amount!r} currency={currency!r}")


def test_started_records_payment_initiated() -> None:
    p = intent()
    p.started(CTX, "gw-ref", "https://checkout.paystack.com/abc", PaymentStatus.REQUIRES_ACTION, LATER)
    assert (p.status, p.gateway_reference, p.authorization_url, p.attempts, p.version) == (
        PaymentStatus.REQUIRES_ACTION, "gw-ref", "https://checkout.paystack.com/abc", 1, 1)
    assert p.events == [events.PaymentInitiated(**COMMON, timestamp=LATER, payment_id="p1", amount=30_025,
                                                currency="NGN", gateway="paystack", reference="ref-1")]


def test_started_again_in_the_same_status_keeps_the_gateway_reference() -> None:
    p = intent()
    p.started(CTX, "gw-ref", "https://pay/1", PaymentStatus.REQUIRES_PAYMENT_METHOD, NOW)
    p.started(CTX, None, "https://pay/2", PaymentStatus.REQUIRES_PAYMENT_METHOD, LATER)
    assert (p.status, p.gateway_reference, p.authorization_url) == (
        PaymentStatus.REQUIRES_PAYMENT_METHOD, "gw-ref", "https://pay/2")
    assert (p.attempts, p.version, p.updated_at) == (2, 2, LATER)
    assert [type(e) for e in p.events] == [events.PaymentInitiated, events.PaymentInitiated]


def test_succeed_records_payment_completed() -> None:
    p = intent()
    p.started(CTX, "gw-ref", None, PaymentStatus.PROCESSING, NOW)
    p.events.clear()
    p.succeed(CTX, 30_025, None, LATER)
    assert (p.status, p.captured_amount, p.gateway_reference, p.is_terminal) == (
        PaymentStatus.SUCCEEDED, 30_025, "gw-ref", True)
    assert p.events == [events.PaymentCompleted(**COMMON, timestamp=LATER, payment_id="p1", amount=30_025,
                                                currency="NGN", gateway="paystack", gateway_reference="gw-ref")]


def test_fail_records_payment_failed() -> None:
    p = intent()
    p.fail(CTX, "insufficient funds", LATER)
    assert (p.status, p.last_error, p.captured_amount) == (PaymentStatus.FAILED, "insufficient funds", 0)
    assert p.events == [events.PaymentFailed(**COMMON, timestamp=LATER, payment_id="p1", amount=30_025,
                                             currency="NGN", gateway="paystack", error="insufficient funds")]


# -- refunds -------------------------------------------------------------------------------------

def paid(captured: int = 10_000) -> PaymentIntent:
    p = intent(captured)
    p.succeed(CTX, captured, "gw-ref", NOW)
    return p


def existing(*pairs: tuple[int, RefundStatus]) -> list[Refund]:
    return [Refund(id=f"r{i}", payment_id="p1", order_id="o1", owner_id="u1", amount=amount, currency="NGN",
                   reason="requested_by_customer", status=status, created_at=NOW, updated_at=NOW)
            for i, (amount, status) in enumerate(pairs)]


def request(payment: PaymentIntent, prior: list[Refund], amount: int | None) -> Refund:
    return Refund.request(id="r-new", payment=payment, existing=prior, amount=amount, reason="damaged",
                          description="arrived broken", ctx=CTX, now=LATER)


@pytest.mark.parametrize("status", [s for s in PaymentStatus if s is not PaymentStatus.SUCCEEDED],
                         ids=lambda s: s.value)
def test_only_succeeded_payments_can_be_refunded(status: PaymentStatus) -> None:
    p = intent()
    p.status, p.captured_amount = status, 30_025
    with pytest.raises(RefundNotAllowed):
        request(p, [], 1_000)
    with pytest.raises(RefundNotAllowed):
        request(p, [], None)


def test_refund_request_records_refund_requested() -> None:
    refund = request(paid(), [], 4_000)
    assert (refund.payment_id, refund.order_id, refund.owner_id, refund.amount, refund.currency) == (
        "p1", "o1", "u1", 4_000, "NGN")
    assert (refund.status, refund.reason, refund.description, refund.created_at) == (
        RefundStatus.PENDING, "damaged", "arrived broken", LATER)
    assert refund.events == [events.RefundRequested(
        **COMMON, timestamp=LATER, refund_id="r-new", payment_id="p1", amount=4_000, currency="NGN",
        reason="damaged", description="arrived broken")]


@pytest.mark.parametrize(("prior", "remainder"), [
    ((), 10_000),
    (((3_000, RefundStatus.PENDING),), 7_000),                       # pending refunds are reserved
    (((3_000, RefundStatus.PROCESSING),), 7_000),
    (((3_000, RefundStatus.SUCCEEDED),), 7_000),
    (((3_000, RefundStatus.FAILED),), 10_000),                       # failed ones release their amount
    (((2_000, RefundStatus.SUCCEEDED), (1_000, RefundStatus.PENDING), (5_000, RefundStatus.FAILED)), 7_000),
])
def test_no_amount_refunds_the_whole_remainder(prior, remainder: int) -> None:
    prior_refunds = existing(*prior)
    assert refundable_amount(10_000, prior_refunds) == remainder
    assert request(paid(), prior_refunds, None).amount == remainder


def test_refund_up_to_exactly_the_remainder() -> None:
    prior = existing((6_000, RefundStatus.PENDING))
    assert request(paid(), prior, 4_000).amount == 4_000
    with pytest.raises(RefundExceedsCaptured) as info:
        request(paid(), prior, 4_001)
    assert info.value.details == {"refundable": 4_000, "requested": 4_001}


def test_refund_never_above_captured() -> None:
    with pytest.raises(RefundExceedsCaptured):
        request(paid(10_000), [], 10_001)


def test_refund_uses_the_captured_not_the_requested_amount() -> None:
    p = intent(10_000)
    p.succeed(CTX, 8_000, "gw-ref", NOW)   # the gateway captured less than asked
    assert request(p, [], None).amount == 8_000
    with pytest.raises(RefundExceedsCaptured):
        request(p, [], 8_001)


@pytest.mark.parametrize("amount", [None, 1, 10_000])
def test_fully_refunded_payment_raises_refund_exceeds_captured(amount: int | None) -> None:
    prior = existing((6_000, RefundStatus.SUCCEEDED), (4_000, RefundStatus.PENDING))
    with pytest.raises(RefundExceedsCaptured):
        request(paid(), prior, amount)


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "100"], ids=repr)
def test_refund_amount_must_be_a_positive_integer(amount) -> None:
    with pytest.raises(InvalidValue):
        request(paid(), [], amount)


def test_refundable_and_refunded_amounts() -> None:
    refunds = existing((2_000, RefundStatus.SUCCEEDED), (1_000, RefundStatus.PENDING),
                       (500, RefundStatus.PROCESSING), (4_000, RefundStatus.FAILED))
    assert refundable_amount(10_000, refunds) == 6_500
    assert refunded_amount(refunds) == 2_000
    assert refundable_amount(1_000, refunds) == 0       # never negative
    assert refundable_amount(10_000, []) == 10_000
    assert refunded_amount([]) == 0


def test_refund_lifecycle_records_completed() -> None:
    refund = request(paid(), [], 4_000)
    refund.events.clear()
    refund.mark_processing("gre-1", LATER)
    refund.succeed(CTX, LATER)
    assert (refund.status, refund.gateway_refund_id, refund.version) == (RefundStatus.SUCCEEDED, "gre-1", 2)
    assert refund.events == [events.RefundCompleted(**COMMON, timestamp=LATER, refund_id="r-new",
                                                    payment_id="p1", amount=4_000, currency="NGN")]


def test_refund_failure_records_failed_and_releases_the_amount() -> None:
    p = paid()
    refund = request(p, [], 10_000)
    refund.events.clear()
    refund.fail(CTX, "gateway said no", LATER)
    assert (refund.status, refund.last_error) == (RefundStatus.FAILED, "gateway said no")
    assert refund.events == [events.RefundFailed(**COMMON, timestamp=LATER, refund_id="r-new", payment_id="p1",
                                                 amount=10_000, currency="NGN", error="gateway said no")]
    assert request(p, [refund], None).amount == 10_000


# -- events --------------------------------------------------------------------------------------

STAMP = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
SAMPLE_EVENTS = [
    events.OrderCreated(**COMMON, timestamp=STAMP, subtotal=100, tax=7, total=107, currency="NGN", item_count=2),
    events.OrderCancelled(**COMMON, timestamp=STAMP, reason="changed my mind"),
    events.PaymentInitiated(**COMMON, timestamp=STAMP, payment_id="p1", amount=107, currency="NGN",
                            gateway="paystack", reference="ref-1"),
    events.PaymentCompleted(**COMMON, timestamp=STAMP, payment_id="p1", amount=107, currency="NGN",
                            gateway="paystack", gateway_reference=None),
    events.PaymentFailed(**COMMON, timestamp=STAMP, payment_id="p1", amount=107, currency="NGN",
                         gateway="paystack", error="declined"),
    events.RefundRequested(**COMMON, timestamp=STAMP, refund_id="r1", payment_id="p1", amount=50,
                           currency="NGN", reason="damaged", description=None),
    events.RefundCompleted(**COMMON, timestamp=STAMP, refund_id="r1", payment_id="p1", amount=50, currency="NGN"),
    events.RefundFailed(**COMMON, timestamp=STAMP, refund_id="r1", payment_id="p1", amount=50, currency="NGN",
                        error="insufficient balance"),
    # issue 17
    events.OrderProcessing(**COMMON, timestamp=STAMP, carrier="GIG Logistics", tracking_number="GIG-123", note=None),
    events.OrderCompleted(**COMMON, timestamp=STAMP, note="delivered"),
    events.PaymentBlocked(**COMMON, timestamp=STAMP, amount=107, currency="NGN", reasons="the e-mail is blocklisted"),
]


#: Events about something else than an order (issue 18); their own tests are beside their context's.
OTHER_EVENTS = [
    SupportReplied(timestamp=STAMP, user_id="u1", user_email="ada@example.com", user_name="Ada", ticket_id="t1",
                   message_id="m1", subject="Where is my parcel?", excerpt="It left Lagos today."),
]


def test_samples_cover_every_event_type() -> None:
    assert {type(e) for e in SAMPLE_EVENTS + OTHER_EVENTS} == set(events.registered().values())
    assert len({e.name for e in SAMPLE_EVENTS}) == len(SAMPLE_EVENTS)  # names are unique


@pytest.mark.parametrize("event", SAMPLE_EVENTS, ids=lambda e: type(e).__name__)
def test_event_dict_round_trip(event: events.DomainEvent) -> None:
    data = event.to_dict()
    assert events.registered()[data["event"]] is type(event) and data["event"] == event.name
    assert data["timestamp"] == "2024-05-01T12:00:00.123456+00:00"
    assert {k: data[k] for k in COMMON} == COMMON
    assert events.event_from_dict(data) == event
    # it survives JSON (outbox rows, Redis Streams), and event_from_dict does not consume its input
    assert events.event_from_dict(json.loads(json.dumps(data))) == event
    assert data["event"] == event.name


@pytest.mark.parametrize("event", SAMPLE_EVENTS, ids=lambda e: type(e).__name__)
def test_events_are_frozen(event: events.DomainEvent) -> None:
    with pytest.raises(AttributeError):
        event.order_id = "other"  # type: ignore[misc]


# -- notifications -------------------------------------------------------------------------------

@pytest.mark.parametrize(("event", "kind", "title", "body"), [
    (SAMPLE_EVENTS[0], "order_created", "Order created", "Order PP-0001 for NGN 1.07 was created."),
    (SAMPLE_EVENTS[2], "payment_initiated", "Payment processing",
     "Payment of NGN 1.07 for order PP-0001 has started."),
    (SAMPLE_EVENTS[3], "payment_completed", "Payment successful", "We received NGN 1.07 for order PP-0001."),
    (SAMPLE_EVENTS[4], "payment_failed", "Payment failed",
     "Payment for order PP-0001 did not go through. You can try again."),
    (SAMPLE_EVENTS[5], "refund_requested", "Refund requested",
     "A refund of NGN 0.50 for order PP-0001 was requested."),
    (SAMPLE_EVENTS[6], "refund_completed", "Refund completed", "NGN 0.50 for order PP-0001 was refunded."),
], ids=["order_created", "payment_initiated", "payment_completed", "payment_failed", "refund_requested",
        "refund_completed"])
def test_compose_gives_the_six_kinds(event, kind: str, title: str, body: str) -> None:
    assert compose(event) == (kind, title, body)


def test_compose_kinds_are_exactly_the_six() -> None:
    kinds = {c[0] for c in map(compose, SAMPLE_EVENTS) if c is not None}
    assert kinds == {"order_created", "payment_initiated", "payment_completed", "payment_failed",
                     "refund_requested", "refund_completed", "order_processing", "order_completed"}  # + issue 17


@pytest.mark.parametrize(("event", "kind", "title", "body"), [
    (SAMPLE_EVENTS[8], "order_processing", "Order on its way",
     "Order PP-0001 is being prepared for you (GIG Logistics: GIG-123)."),
    (SAMPLE_EVENTS[9], "order_completed", "Order completed", "Order PP-0001 is complete. Thank you!"),
], ids=["order_processing", "order_completed"])
def test_compose_tells_the_customer_of_fulfilment(event, kind: str, title: str, body: str) -> None:
    assert compose(event) == (kind, title, body)


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    (150_000, "NGN", "NGN 1,500.00"), (123_456_789, "USD", "USD 1,234,567.89"),
    (1_500_000, "UGX", "UGX 1,500,000"), (5, "JPY", "JPY 5"), (7, "KES", "KES 0.07"),
])
def test_notification_money_is_shown_in_major_units(amount: int, currency: str, shown: str) -> None:
    event = events.PaymentCompleted(**COMMON, timestamp=STAMP, payment_id="p1", amount=amount, currency=currency,
                                    gateway="sandbox", gateway_reference=None)
    _kind, _title, body = compose(event)
    assert body == f"We received {shown} for order PP-0001."


def test_notification_mark_read() -> None:
    n = Notification(id="n1", user_id="u1", kind="order_created", title="t", body="b", created_at=NOW)
    assert n.read is False
    n.mark_read()
    assert n.read is True
