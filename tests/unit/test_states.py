"""Status vocabularies: every (from, to) pair of every state machine, and the aggregates that use them.

The expected tables below are written out by hand from DESIGN.md §2 (not derived from the
tables in the code), so a change to a table in the code has to be mirrored here on purpose. The
tables under test are discovered: every domain module is imported and every table registered with
``domain.transitions.table`` is walked, so a new one without a hand-written twin fails here.
"""
from __future__ import annotations

import copy
import enum
import importlib
import itertools
import pkgutil
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import domain
from domain import transitions
from domain.errors import DomainError, IllegalTransition
from domain.orders import EventContext, Order, OrderStatus
from domain.payments import PaymentIntent, PaymentStatus, Refund, RefundStatus
from domain.support import TicketStatus
from domain.transitions import can_transition, check_transition
from domain.users import Principal, Role
from domain.webhooks import WebhookEvent, WebhookStatus

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=1)
PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=300)

# -- expected tables, by hand --------------------------------------------------------------------

ORDER_ALLOWED = {
    ("pending", "paid"), ("pending", "cancelled"), ("pending", "failed"),
    ("paid", "processing"), ("paid", "partially_refunded"), ("paid", "refunded"),
    ("processing", "completed"), ("processing", "partially_refunded"), ("processing", "refunded"),
    ("paid", "cancelled"), ("processing", "cancelled"),  # cancelled and refunded (issue 17)
    ("completed", "partially_refunded"), ("completed", "refunded"),
    ("partially_refunded", "refunded"),
}

_RPM, _RA, _PR, _RV = "requires_payment_method", "requires_action", "processing", "requires_review"
_PAYMENT_ENDS = ("succeeded", "failed", "canceled", "expired")
PAYMENT_ALLOWED = {
    (_RPM, _RA), (_RPM, _PR), (_RA, _PR),
    *((start, end) for start in (_RPM, _RA, _PR) for end in _PAYMENT_ENDS),
    *((start, _RV) for start in (_RPM, _RA, _PR)),                      # held for a person
    (_RV, _RPM), (_RV, _RA), (_RV, _PR), *((_RV, end) for end in _PAYMENT_ENDS),
    ("failed", "succeeded"), ("canceled", "succeeded"), ("expired", "succeeded"),  # a late capture
}

REFUND_ALLOWED = {
    ("pending", "processing"), ("pending", "failed"),
    ("processing", "succeeded"), ("processing", "failed"),
    ("failed", "succeeded"),  # an earlier attempt the gateway accepted after all
}

WEBHOOK_ALLOWED = {
    ("received", "processed"), ("received", "failed"), ("received", "ignored"),
    ("failed", "processed"), ("failed", "failed"), ("failed", "ignored"),
}

# issue 18: a ticket goes open -> pending -> resolved -> closed; its customer reopens a settled one
TICKET_ALLOWED = {
    ("open", "pending"), ("open", "resolved"), ("open", "closed"),
    ("pending", "open"), ("pending", "resolved"), ("pending", "closed"),
    ("resolved", "open"), ("resolved", "closed"),
    ("closed", "open"),
}

EXPECTED = {
    OrderStatus: ORDER_ALLOWED,
    PaymentStatus: PAYMENT_ALLOWED,
    RefundStatus: REFUND_ALLOWED,
    WebhookStatus: WEBHOOK_ALLOWED,
    TicketStatus: TICKET_ALLOWED,
}



def _registered_tables() -> dict[type[enum.Enum], object]:
    """Every transition table of the domain: import each domain module, then read the registry."""
    for module in pkgutil.walk_packages(domain.__path__, "domain."):
        importlib.import_module(module.name)
    return dict(transitions.registered())


REGISTERED = _registered_tables()

ALL_PAIRS = [
    pytest.param(current, new, (current.value, new.value) in EXPECTED.get(enum_type, ()),
                 id=f"{enum_type.__name__}:{current.value}->{new.value}")
    for enum_type in REGISTERED
    for current, new in itertools.product(enum_type, repeat=2)
]


def test_every_registered_table_has_a_hand_written_twin() -> None:
    assert set(REGISTERED) == set(EXPECTED)
    assert len(ALL_PAIRS) == sum(len(enum_type) ** 2 for enum_type in EXPECTED)


@pytest.mark.parametrize("enum_type", list(EXPECTED), ids=lambda e: e.__name__)
def test_registered_table_is_exactly_the_expected_one(enum_type: type[enum.Enum]) -> None:
    table = REGISTERED[enum_type]
    assert {(c.value, n.value) for c, targets in table.items() for n in targets} == EXPECTED[enum_type]
    assert set(table) == set(enum_type)  # a row for every member, terminal ones included


def test_expected_tables_only_name_real_members() -> None:
    """Guards the hand-written tables against typos (a typo would silently make a pair 'illegal')."""
    for enum_type, allowed in EXPECTED.items():
        values = {m.value for m in enum_type}
        for current, new in allowed:
            assert current in values and new in values, (enum_type, current, new)


def test_vocabularies_are_exactly_the_designed_ones() -> None:
    assert [s.value for s in OrderStatus] == [
        "pending", "paid", "processing", "completed", "cancelled", "failed", "partially_refunded", "refunded"]
    assert {s.value for s in PaymentStatus} == {_RPM, _RA, _PR, _RV, *_PAYMENT_ENDS}
    assert {s.value for s in RefundStatus} == {"pending", "processing", "succeeded", "failed"}
    assert {s.value for s in WebhookStatus} == {"received", "processed", "failed", "ignored"}


@pytest.mark.parametrize(("current", "new", "allowed"), ALL_PAIRS)
def test_can_transition_matches_the_table(current, new, allowed: bool) -> None:
    assert can_transition(current, new) is allowed


@pytest.mark.parametrize(("current", "new", "allowed"), ALL_PAIRS)
def test_check_transition_raises_exactly_for_illegal_pairs(current, new, allowed: bool) -> None:
    if allowed:
        assert check_transition(current, new, "thing") is None
        return
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, new, "thing")
    err = info.value
    assert isinstance(err, DomainError)
    assert err.code == "illegal_transition"
    assert err.details == {"entity": "thing", "current": current.value, "requested": new.value}


@pytest.mark.parametrize(("current", "new"), [
    (OrderStatus.PENDING, PaymentStatus.PROCESSING),  # same value in two vocabularies
    (OrderStatus.PAID, PaymentStatus.PROCESSING),
    (RefundStatus.PENDING, OrderStatus.PAID),
    (PaymentStatus.REQUIRES_ACTION, RefundStatus.SUCCEEDED),
])
def test_check_transition_never_mixes_vocabularies(current, new) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(current, new, "thing")


@pytest.mark.parametrize(("current", "new"), [
    (OrderStatus.PAID, PaymentStatus.PROCESSING),
    (OrderStatus.PENDING, "paid"),
])
def test_can_transition_is_false_across_vocabularies(current, new) -> None:
    assert can_transition(current, new) is False


# -- registering a table ---------------------------------------------------------------------------

class _Light(str, enum.Enum):
    RED = "red"
    GREEN = "green"
    AMBER = "amber"


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables registered by a test vanish with it (the real ones stay registered)."""
    monkeypatch.setattr(transitions, "_TABLES", dict(transitions._TABLES))


def test_a_registered_table_is_used_by_check_transition(scratch_registry: None) -> None:
    table = transitions.table(_Light, {_Light.RED: [_Light.GREEN], _Light.GREEN: {_Light.AMBER},
                                       _Light.AMBER: {_Light.RED}})
    assert table[_Light.RED] == frozenset({_Light.GREEN})
    assert transitions.registered()[_Light] is table
    assert can_transition(_Light.RED, _Light.GREEN) and not can_transition(_Light.RED, _Light.AMBER)
    with pytest.raises(IllegalTransition):
        check_transition(_Light.GREEN, _Light.RED, "light")
    with pytest.raises(TypeError):
        table[_Light.RED] = frozenset()  # type: ignore[index]


@pytest.mark.parametrize("rows", [
    {_Light.RED: {_Light.GREEN}, _Light.GREEN: {_Light.RED}},               # AMBER has no row
    {_Light.RED: {OrderStatus.PAID}, _Light.GREEN: set(), _Light.AMBER: set()},  # another vocabulary
    {_Light.RED: set(), _Light.GREEN: set(), _Light.AMBER: set(), OrderStatus.PAID: set()},
], ids=["missing-row", "foreign-target", "foreign-row"])
def test_a_malformed_table_is_refused(scratch_registry: None, rows: dict) -> None:
    with pytest.raises(ValueError, match="_Light"):
        transitions.table(_Light, rows)
    assert _Light not in transitions.registered()


def test_a_vocabulary_registers_one_table(scratch_registry: None) -> None:
    rows = {_Light.RED: set(), _Light.GREEN: set(), _Light.AMBER: set()}
    transitions.table(_Light, rows)
    with pytest.raises(ValueError, match="already"):
        transitions.table(_Light, rows)
    with pytest.raises(ValueError, match="already"):
        transitions.table(OrderStatus, {s: set() for s in OrderStatus})


# -- through the Order aggregate -------------------------------------------------------------------

def _order(status: OrderStatus = OrderStatus.PENDING) -> Order:
    owner = Principal("u1", Role.CUSTOMER, email="ada@example.com", name="Ada")
    order = Order.place(id="o1", order_number="PP-0001", owner=owner, items=[], currency="NGN",
                        subtotal=10_000, discount=0, shipping=0, tax=0, total=10_000, now=NOW)
    order.status = status
    order.events.clear()
    return order


ORDER_METHODS = {
    "mark_paid": (OrderStatus.PAID, lambda o: o.mark_paid(LATER)),
    "cancel": (OrderStatus.CANCELLED, lambda o: o.cancel(LATER)),
    "fail": (OrderStatus.FAILED, lambda o: o.fail(LATER)),
    "start_processing": (OrderStatus.PROCESSING, lambda o: o.start_processing(LATER)),
    "complete": (OrderStatus.COMPLETED, lambda o: o.complete(LATER)),
}


@pytest.mark.parametrize("method", ORDER_METHODS)
@pytest.mark.parametrize("start", list(OrderStatus), ids=lambda s: s.value)
def test_order_methods_follow_the_table(start: OrderStatus, method: str) -> None:
    target, call = ORDER_METHODS[method]
    order = _order(start)
    before = copy.deepcopy(order)
    if (start.value, target.value) in ORDER_ALLOWED:
        call(order)
        assert order.status is target
        assert order.version == before.version + 1
        assert order.updated_at == LATER
    else:
        with pytest.raises(IllegalTransition):
            call(order)
        assert order == before  # nothing changed
        assert order.events == []


def test_order_mark_paid_twice_raises() -> None:
    order = _order()
    order.mark_paid(LATER)
    with pytest.raises(IllegalTransition):
        order.mark_paid(LATER)
    assert order.status is OrderStatus.PAID
    assert order.version == 1


def test_order_full_happy_path() -> None:
    order = _order()
    order.mark_paid(LATER)
    order.start_processing(LATER)
    order.complete(LATER)
    assert (order.status, order.version) == (OrderStatus.COMPLETED, 3)


# -- through the PaymentIntent aggregate --------------------------------------------------------------

CTX = EventContext("u1", "ada@example.com", "Ada", None, "o1", "PP-0001")


def _intent(status: PaymentStatus = PaymentStatus.REQUIRES_PAYMENT_METHOD) -> PaymentIntent:
    intent = PaymentIntent.create(id="p1", order_id="o1", owner_id="u1", amount=10_000, currency="NGN",
                                  gateway="sandbox", reference="ref-1", now=NOW)
    intent.status = status
    return intent


def _apply(intent: PaymentIntent, status: PaymentStatus) -> None:
    """What a webhook/verify handler does once ``should_apply`` said yes."""
    if status is PaymentStatus.SUCCEEDED:
        intent.succeed(CTX, intent.amount, "gw-1", LATER)
    elif status is PaymentStatus.FAILED:
        intent.fail(CTX, "declined", LATER)
    elif status is PaymentStatus.CANCELED:
        intent.cancel(LATER)
    elif status is PaymentStatus.EXPIRED:
        intent.expire(LATER)
    else:
        intent.mark(status, LATER)


@pytest.mark.parametrize("target", list(PaymentStatus), ids=lambda s: s.value)
@pytest.mark.parametrize("start", list(PaymentStatus), ids=lambda s: s.value)
def test_payment_methods_follow_the_table(start: PaymentStatus, target: PaymentStatus) -> None:
    intent = _intent(start)
    before = copy.deepcopy(intent)
    if (start.value, target.value) in PAYMENT_ALLOWED:
        _apply(intent, target)
        assert intent.status is target
        assert intent.version == before.version + 1
    else:
        with pytest.raises(IllegalTransition):
            _apply(intent, target)
        assert intent == before
        assert intent.events == []


@pytest.mark.parametrize("late", [PaymentStatus.FAILED, PaymentStatus.EXPIRED, PaymentStatus.CANCELED,
                                  PaymentStatus.SUCCEEDED, PaymentStatus.PROCESSING],
                         ids=lambda s: s.value)
def test_succeeded_payment_cannot_move(late: PaymentStatus) -> None:
    intent = _intent()
    intent.succeed(CTX, 10_000, "gw-1", NOW)
    assert intent.should_apply(late) is False
    with pytest.raises(IllegalTransition):
        _apply(intent, late)
    assert intent.status is PaymentStatus.SUCCEEDED
    assert intent.captured_amount == 10_000


def test_succeeded_payment_cannot_fail_or_expire_explicitly() -> None:
    intent = _intent()
    intent.succeed(CTX, 10_000, "gw-1", NOW)
    with pytest.raises(IllegalTransition):
        intent.fail(CTX, "late decline", LATER)
    with pytest.raises(IllegalTransition):
        intent.expire(LATER)
    assert intent.status is PaymentStatus.SUCCEEDED
    assert intent.last_error is None
    assert [type(e).__name__ for e in intent.events] == ["PaymentCompleted"]


_FORWARD_RANK = {PaymentStatus.REQUIRES_PAYMENT_METHOD: 0, PaymentStatus.REQUIRES_ACTION: 1,
                 PaymentStatus.PROCESSING: 2}
_UNPAID = {PaymentStatus.FAILED, PaymentStatus.CANCELED, PaymentStatus.EXPIRED}
_REVIEW = PaymentStatus.REQUIRES_REVIEW


def _expected_apply(current: PaymentStatus, reported: PaymentStatus, verified: bool) -> bool:
    """Independent statement of which reports move an intent."""
    if reported is current or current is PaymentStatus.SUCCEEDED:
        return False                          # never the same state again, never out of succeeded
    if current in _UNPAID:                    # a late capture, and only once the gateway verified it
        return reported is PaymentStatus.SUCCEEDED and verified
    if reported not in _FORWARD_RANK and reported is not _REVIEW:
        return True                           # any terminal outcome applies to a live or held intent
    if _REVIEW in (current, reported):
        return False                          # a review ends by an outcome or by a person
    return _FORWARD_RANK[reported] > _FORWARD_RANK[current]   # forward only


@pytest.mark.parametrize("verified", [False, True], ids=["reported", "verified"])
@pytest.mark.parametrize("reported", list(PaymentStatus), ids=lambda s: s.value)
@pytest.mark.parametrize("current", list(PaymentStatus), ids=lambda s: s.value)
def test_should_apply_table(current: PaymentStatus, reported: PaymentStatus, verified: bool) -> None:
    assert _intent(current).should_apply(reported, verified=verified) is _expected_apply(current, reported, verified)


def _model(reports: list[tuple[PaymentStatus, bool]]) -> list[PaymentStatus]:
    """Independent model of where an intent should be after each gateway report."""
    state, seen = PaymentStatus.REQUIRES_PAYMENT_METHOD, []
    for s, verified in reports:
        if _expected_apply(state, s, verified):
            state = s
        seen.append(state)
    return seen


_REPORTED = [s for s in PaymentStatus if s is not _REVIEW]  # what gateways report (never "review")


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(_REPORTED), st.booleans()), max_size=12))
def test_any_gateway_status_sequence_ends_terminal_stable(reports: list[tuple[PaymentStatus, bool]]) -> None:
    intent = _intent()
    expected = _model(reports)
    frozen: PaymentIntent | None = None
    for (reported, verified), want in zip(reports, expected, strict=True):
        if intent.should_apply(reported, verified=verified):
            _apply(intent, reported)  # must never raise once should_apply said yes
        assert intent.status is want
        if frozen is not None:
            # once succeeded, nothing changes: not the status, version, amounts or events
            assert intent == frozen
            assert intent.events == frozen.events
        elif intent.status is PaymentStatus.SUCCEEDED:
            frozen = copy.deepcopy(intent)
    outcomes = [s for s, _ in reports if s not in _FORWARD_RANK]
    if outcomes:
        late = [s for s, v in reports if s is PaymentStatus.SUCCEEDED and v]
        # the first outcome wins, unless a verified capture came after an unpaid end
        assert intent.status is (outcomes[0] if outcomes[0] is PaymentStatus.SUCCEEDED or not late
                                 else PaymentStatus.SUCCEEDED)
        captures = 1 if intent.status is PaymentStatus.SUCCEEDED else 0
        assert [type(e).__name__ for e in intent.events].count("PaymentCompleted") == captures


def test_a_capture_verified_after_an_unpaid_end_is_recorded_as_late() -> None:
    intent = _intent()
    intent.expire(LATER)
    assert intent.should_apply(PaymentStatus.SUCCEEDED) is False          # an unverified report is not enough
    assert intent.should_apply(PaymentStatus.SUCCEEDED, verified=True) is True
    intent.succeed(CTX, 10_000, "gw-1", LATER)
    assert (intent.status, intent.captured_amount, intent.late_capture) == (PaymentStatus.SUCCEEDED, 10_000, True)
    assert intent.paid_at == LATER


def test_review_holds_and_releases_only_before_the_gateway() -> None:
    intent = _intent()
    intent.hold_for_review("fraud: amount above the review threshold", NOW)
    assert (intent.status, intent.review_reason) == (_REVIEW, "fraud: amount above the review threshold")
    intent.release_for_gateway(LATER)
    assert (intent.status, intent.review_reason) == (PaymentStatus.REQUIRES_PAYMENT_METHOD, None)
    sent = _intent(PaymentStatus.PROCESSING)
    sent.attempts = 1
    sent.hold_for_review("outcome unknown past the bound", NOW)
    with pytest.raises(IllegalTransition):
        sent.release_for_gateway(LATER)  # it may have reached the gateway: a person settles it with the gateway


def test_started_moves_forward_and_records_initiated() -> None:
    intent = _intent()
    intent.started(CTX, "gw-1", "https://pay.example/x", PaymentStatus.REQUIRES_ACTION, LATER)
    assert intent.status is PaymentStatus.REQUIRES_ACTION
    with pytest.raises(IllegalTransition):
        intent.mark(PaymentStatus.REQUIRES_PAYMENT_METHOD, LATER)  # never backwards
    assert intent.status is PaymentStatus.REQUIRES_ACTION


def test_illegal_started_changes_nothing() -> None:
    intent = _intent()
    intent.succeed(CTX, 10_000, "gw-1", NOW)
    before = copy.deepcopy(intent)
    with pytest.raises(IllegalTransition):
        intent.started(CTX, "gw-2", "https://pay.example/other", PaymentStatus.REQUIRES_ACTION, LATER)
    assert intent == before


def test_started_on_a_terminal_intent_is_refused() -> None:
    intent = _intent()
    intent.fail(CTX, "declined", NOW)
    intent.events.clear()
    before = copy.deepcopy(intent)
    try:
        intent.started(CTX, "gw-2", None, PaymentStatus.FAILED, LATER)
        raised = False
    except IllegalTransition:
        raised = True
    assert raised, "a terminal intent accepted started()"
    assert intent == before
    assert intent.events == []


# -- through the Refund aggregate ------------------------------------------------------------------

def _refund(status: RefundStatus) -> Refund:
    return Refund(id="r1", payment_id="p1", order_id="o1", owner_id="u1", amount=500, currency="NGN",
                  reason="requested_by_customer", status=status, created_at=NOW, updated_at=NOW)


REFUND_METHODS = {
    "mark_processing": (RefundStatus.PROCESSING, lambda r: r.mark_processing("gre-1", LATER)),
    "succeed": (RefundStatus.SUCCEEDED, lambda r: r.succeed(CTX, LATER)),
    "fail": (RefundStatus.FAILED, lambda r: r.fail(CTX, "gateway said no", LATER)),
}


@pytest.mark.parametrize("method", REFUND_METHODS)
@pytest.mark.parametrize("start", list(RefundStatus), ids=lambda s: s.value)
def test_refund_methods_follow_the_table(start: RefundStatus, method: str) -> None:
    target, call = REFUND_METHODS[method]
    refund = _refund(start)
    before = copy.deepcopy(refund)
    if (start.value, target.value) in REFUND_ALLOWED:
        call(refund)
        assert refund.status is target
        assert (refund.version, refund.updated_at) == (before.version + 1, LATER)
    else:
        with pytest.raises(IllegalTransition):
            call(refund)
        assert refund.status is start
        assert refund.version == before.version
        assert refund.events == []


def test_illegal_mark_processing_changes_nothing() -> None:
    refund = attrs.evolve(_refund(RefundStatus.SUCCEEDED), gateway_refund_id="gre-original")
    before = copy.deepcopy(refund)
    with pytest.raises(IllegalTransition):
        refund.mark_processing("gre-other", LATER)
    assert refund == before


# -- through the WebhookEvent inbox entry ------------------------------------------------------------

def _webhook(status: WebhookStatus) -> WebhookEvent:
    return WebhookEvent(id="w1", gateway="paystack", event_id="evt_1", type="charge.success", payload="{}",
                        signature_ok=True, status=status, received_at=NOW)


WEBHOOK_METHODS = {
    "processed": (WebhookStatus.PROCESSED, lambda w: w.processed(LATER)),
    "ignored": (WebhookStatus.IGNORED, lambda w: w.ignored(LATER, "unknown reference")),
    "failed": (WebhookStatus.FAILED, lambda w: w.failed(LATER, "boom")),
}


@pytest.mark.parametrize("method", WEBHOOK_METHODS)
@pytest.mark.parametrize("start", list(WebhookStatus), ids=lambda s: s.value)
def test_webhook_methods_follow_the_table(start: WebhookStatus, method: str) -> None:
    target, call = WEBHOOK_METHODS[method]
    event = _webhook(start)
    if (start.value, target.value) in WEBHOOK_ALLOWED:
        call(event)
        assert event.status is target
        assert (event.version, event.attempts) == (1, 1)
    else:
        with pytest.raises(IllegalTransition):
            call(event)
        assert event.status is start
        assert event.version == 0


def test_webhook_retry_after_failure() -> None:
    event = _webhook(WebhookStatus.RECEIVED)
    event.failed(NOW, "db down")
    event.failed(LATER, "db down again")
    assert (event.status, event.attempts, event.last_error, event.processed_at) == (
        WebhookStatus.FAILED, 2, "db down again", None)
    event.processed(LATER)
    assert (event.status, event.attempts, event.last_error, event.processed_at) == (
        WebhookStatus.PROCESSED, 3, None, LATER)


def test_illegal_webhook_move_changes_nothing() -> None:
    event = _webhook(WebhookStatus.PROCESSED)
    before = copy.deepcopy(event)
    with pytest.raises(IllegalTransition):
        event.processed(LATER)
    assert event == before
