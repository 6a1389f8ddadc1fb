"""The fraud rules: each rule lets a good attempt through and stops a bad one; the configuration's
shape is checked; the checker counts earlier attempts and declines and records each attempt."""
from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory.fraud import MemoryFraudSignals
from adapters.memory.infrastructure import InMemoryEventBus
from adapters.memory.store import MemoryStore
from adapters.system import FakeClock, RandomIds
from application.fraud import RiskRules
from domain import events
from domain.errors import InvalidValue
from domain.fraud import ALLOW, BLOCK, REVIEW, Attempt, FraudRules
from domain.orders import EventContext
from domain.payments import PaymentIntent

HOUR = 3600
CAPS = {"NGN": 500_000_000}


def rules(**data) -> FraudRules:
    return FraudRules.from_dict(data, CAPS)


def judge(r: FraudRules, attempt: Attempt, attempts=None, declines=None):
    return r.judge(attempt, attempts or {}, declines or {})


NGN = Attempt(amount=100_000, currency="NGN", user_id="usr_1", email="ada@example.com", client_ip="203.0.113.9",
              country="NG")


@pytest.mark.parametrize(("amount", "outcome"), [(100_000, ALLOW), (1_000_000, ALLOW), (1_000_001, REVIEW),
                                                 (5_000_000, REVIEW), (5_000_001, BLOCK)])
def test_amount_review_and_block_levels_per_currency(amount, outcome):
    r = rules(amounts={"NGN": {"review": 1_000_000, "block": 5_000_000}})
    verdict = judge(r, Attempt(amount=amount, currency="NGN", user_id="u"))
    assert verdict.outcome == outcome
    assert judge(r, Attempt(amount=amount, currency="GHS", user_id="u")).outcome == ALLOW  # another currency


def test_the_amount_caps_of_before_stay_without_a_file():
    r = FraudRules.from_dict({}, CAPS)
    assert judge(r, Attempt(amount=500_000_000, currency="NGN", user_id="u")).outcome == ALLOW
    verdict = judge(r, Attempt(amount=500_000_001, currency="NGN", user_id="u"))
    assert verdict.outcome == BLOCK and verdict.reasons == ("amount 500000001 NGN above the block level 500000000",)


@pytest.mark.parametrize("kind", ["user", "email", "ip", "guest"])
def test_velocity_per_identity(kind):
    r = rules(velocity={kind: {"limit": 3, "window_seconds": HOUR}})
    attempt = Attempt(amount=100, currency="NGN", user_id=None if kind == "guest" else "usr_1",
                      guest_id="gst_1" if kind == "guest" else None, email="a@b.co", client_ip="10.0.0.1")
    assert judge(r, attempt, {kind: 2}).outcome == ALLOW
    verdict = judge(r, attempt, {kind: 3})
    assert verdict.outcome == REVIEW and verdict.reasons == (f"3 attempts by this {kind} within 1:00:00 (limit 3)",)
    blocking = rules(velocity={kind: {"limit": 3, "window_seconds": HOUR, "action": "block"}})
    assert judge(blocking, attempt, {kind: 3}).outcome == BLOCK


def test_velocity_counts_only_identities_the_attempt_has():
    r = rules(velocity={"guest": {"limit": 1, "window_seconds": HOUR}})
    assert judge(r, NGN, {"guest": 5}).outcome == ALLOW  # a signed-in user is no guest


def test_repeated_declines_the_card_testing_pattern():
    r = rules(declines={"limit": 3, "window_seconds": HOUR, "by": ["ip", "email"]})
    assert judge(r, NGN, declines={"ip": 2, "email": 2}).outcome == ALLOW
    assert judge(r, NGN, declines={"user": 9}).outcome == ALLOW  # not counted by user here
    verdict = judge(r, NGN, declines={"ip": 3})
    assert verdict.outcome == BLOCK and "repeated declines" in verdict.reasons[0]


@pytest.mark.parametrize(("listed", "attempt", "blocked"), [
    ({"emails": ["mallory@example.com"]}, NGN, False),
    ({"emails": ["ADA@example.com"]}, NGN, True),
    ({"emails": ["@example.com"]}, NGN, True),
    ({"ips": ["198.51.100.0/24"]}, NGN, False),
    ({"ips": ["203.0.113.0/24"]}, NGN, True),
    ({"ips": ["203.0.113.9"]}, NGN, True),
    ({"countries": ["GH"]}, NGN, False),
    ({"countries": ["ng"]}, NGN, True),
])
def test_blocklists(listed, attempt, blocked):
    verdict = judge(rules(blocklist=listed), attempt)
    assert verdict.outcome == (BLOCK if blocked else ALLOW)
    if blocked:
        assert "blocklisted" in verdict.reasons[0]


def test_billing_country_against_the_currency():
    r = rules(country_currency={"countries": {"NGN": ["NG"], "XOF": ["SN", "CI", "BJ"]}})
    assert judge(r, NGN).outcome == ALLOW
    abroad = judge(r, Attempt(amount=100, currency="NGN", user_id="u", country="US"))
    assert abroad.outcome == REVIEW and abroad.reasons == ("billing country US does not use NGN",)
    assert judge(r, Attempt(amount=100, currency="XOF", user_id="u", country="CI")).outcome == ALLOW
    assert judge(r, Attempt(amount=100, currency="USD", user_id="u", country="NG")).outcome == ALLOW  # not listed
    assert judge(r, Attempt(amount=100, currency="NGN", user_id="u")).outcome == ALLOW  # no country given


def test_the_strongest_action_wins_with_every_reason():
    r = rules(amounts={"NGN": {"review": 10}}, blocklist={"countries": ["NG"]})
    verdict = judge(r, NGN)
    assert verdict.outcome == BLOCK and len(verdict.reasons) == 2


@pytest.mark.parametrize(("data", "field"), [
    ({"amount": {}}, "amount"),
    ({"amounts": {"NGN": {"reveiw": 1}}}, "amounts.NGN"),
    ({"amounts": {"NGN": {"review": -1}}}, "amounts.NGN.review"),
    ({"velocity": {"card": {"limit": 1, "window_seconds": 1}}}, "velocity"),
    ({"velocity": {"ip": {"limit": 1}}}, "velocity.ip.window_seconds"),
    ({"velocity": {"ip": {"limit": 1, "window_seconds": 60, "action": "shout"}}}, "velocity.ip"),
    ({"declines": {"limit": 1, "window_seconds": 60, "by": ["card"]}}, "declines.by"),
    ({"blocklist": {"ips": ["not-an-ip"]}}, "blocklist.ips"),
    ({"blocklist": {"phones": []}}, "blocklist"),
])
def test_a_configuration_that_cannot_work_is_refused(data, field):
    with pytest.raises(InvalidValue) as refused:
        FraudRules.from_dict(data)
    assert refused.value.details["field"] == field


def test_rules_read_back_from_their_own_shape():
    data = {"amounts": {"NGN": {"review": 10, "block": 20}}, "velocity": {"ip": {"limit": 5, "window_seconds": 60,
                                                                               "action": "review"}},
            "declines": {"limit": 3, "window_seconds": 600, "action": "block", "by": ["email", "ip"]},
            "blocklist": {"emails": ["@spam.example"], "ips": ["10.0.0.0/8"], "countries": ["KP"]},
            "country_currency": {"countries": {"NGN": ["NG"]}, "action": "block"}}
    r = FraudRules.from_dict(data)
    assert FraudRules.from_dict(r.to_dict()) == r
    assert r.to_dict()["amounts"] == {"NGN": {"review": 10, "block": 20}}


# -- the checker: counts, records, announces ------------------------------------------------------
CTX = EventContext("usr_1", "ada@example.com", "Ada", None, "ord_1", "PP-1")


async def checker(data, store=None):
    store = store or MemoryStore()
    clock, bus, seen = FakeClock(), InMemoryEventBus(), []

    async def record(event):
        seen.append(event)
    bus.subscribe(events.DomainEvent, record)
    return RiskRules(FraudRules.from_dict(data, CAPS), MemoryFraudSignals(store), clock, RandomIds(clock), bus), \
        store, clock, seen


async def test_the_checker_counts_earlier_attempts_within_the_window():
    risk, store, clock, _ = await checker({"velocity": {"ip": {"limit": 2, "window_seconds": HOUR}}})

    async def attempt():
        return await risk.assess(user_id="usr_1", amount=100, currency="NGN", email=None, client_ip="10.0.0.1")
    assert [(await attempt()).allow for _ in range(2)] == [True, True]
    third = await attempt()
    assert (third.allow, third.review) == (False, True) and "2 attempts by this ip" in third.reasons[0]
    other = await risk.assess(user_id="usr_2", amount=100, currency="NGN", email=None, client_ip="10.0.0.2")
    assert other.allow
    clock.advance(HOUR + 1)
    assert (await attempt()).allow  # the window moved on
    assert [a.outcome for a in store.tables["fraud_attempts"].values()] == ["allow", "allow", "review", "allow",
                                                                            "allow"]


async def test_the_checker_counts_declined_payments_by_their_reference():
    store = MemoryStore()
    risk, _, clock, seen = await checker({"declines": {"limit": 2, "window_seconds": HOUR}}, store)
    for n in range(2):
        ref = f"ref_{n}"
        assert (await risk.assess(user_id="usr_1", amount=100, currency="NGN", email="a@b.co", reference=ref)).allow
        payment = PaymentIntent.create(id=f"pay_{n}", order_id="ord_1", owner_id="usr_1", amount=100, currency="NGN",
                                       gateway="sandbox", reference=ref, now=clock.now())
        payment.fail(CTX, "declined", clock.now())
        store.tables["payments"][payment.id] = payment
    blocked = await risk.assess(user_id="usr_3", amount=100, currency="NGN", email="A@B.co", reference="ref_x",
                                context=CTX)
    assert (blocked.allow, blocked.review) == (False, False)
    assert "2 declined payments by this email" in blocked.reasons[0]
    [event] = [e for e in seen if isinstance(e, events.PaymentBlocked)]
    assert (event.order_id, event.amount, event.reasons) == ("ord_1", 100, blocked.reasons[0])


async def test_attempts_older_than_the_longest_window_are_reaped():
    risk, store, clock, _ = await checker({"velocity": {"user": {"limit": 9, "window_seconds": 2 * 86400}}})
    await risk.assess(user_id="usr_1", amount=100, currency="NGN", email=None)
    clock.advance(timedelta(days=1).total_seconds())
    await risk.assess(user_id="usr_1", amount=100, currency="NGN", email=None)
    clock.advance(timedelta(days=1, seconds=1).total_seconds())
    assert await risk.reap() == 1 and len(store.tables["fraud_attempts"]) == 1
