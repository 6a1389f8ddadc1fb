"""InitiatePayment's phases on memory adapters: failover only for initialization, unknown outcomes,
refusals, and the crash-between-phases recovery by the same Idempotency-Key."""
from __future__ import annotations

import pytest

from adapters.gateways.routing import StaticGatewayRegistry
from adapters.memory.infrastructure import InMemoryEventBus, RuleFraudChecker
from adapters.memory.store import MemoryStore
from adapters.memory.uow import MemoryUnitOfWorkFactory
from adapters.system import FakeClock, RandomIds
from application.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from application.payments.initiate import InitiatePayment
from application.ports import InitializedPayment
from domain.checkout import LineItem
from domain.orders import Order
from domain.payments import PaymentStatus
from domain.users import Principal, Role

USER = Principal("usr_1", Role.CUSTOMER, "a@example.com", "A")


class Fake:
    weak_webhook_auth = False
    currencies = frozenset({"NGN"})

    def __init__(self, name, outcome=None):
        self.name, self.outcome, self.calls = name, outcome, []

    async def initialize_payment(self, request):
        self.calls.append(request.reference)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return InitializedPayment(PaymentStatus.REQUIRES_ACTION, f"{self.name}_ref", f"https://{self.name}/pay")


async def setup(*gateways):
    store, clock = MemoryStore(), FakeClock()
    uow = MemoryUnitOfWorkFactory(store, InMemoryEventBus())
    order = Order.place(id="ord_1", order_number="PP-1", owner=USER, items=[LineItem("S", "p", "S", 5000, 1)],
                        currency="NGN", subtotal=5000, discount=0, shipping=0, tax=0, total=5000, now=clock.now())
    async with uow() as u:
        await u.orders.add(order)
        await u.commit()
    registry = StaticGatewayRegistry({g.name: g for g in gateways}, {"NGN": [g.name for g in gateways]})
    use_case = InitiatePayment(uow, registry, RuleFraudChecker({}), clock, RandomIds(clock), "http://x")
    return use_case, store


def only_payment(store):
    (payment,) = store.tables["payments"].values()
    return payment


async def test_fails_over_when_the_first_gateway_did_nothing():
    first, second = Fake("paystack", GatewayUnavailable("circuit open")), Fake("flutterwave")
    initiate, store = await setup(first, second)
    payment = await initiate(USER, order_id="ord_1", idempotency_key="k")
    assert (payment.gateway, payment.status, payment.authorization_url) == (
        "flutterwave", PaymentStatus.REQUIRES_ACTION, "https://flutterwave/pay")
    assert first.calls == second.calls == [payment.reference]  # the same reference at both


@pytest.mark.parametrize("error", [GatewayTimeout("sent, no answer"), GatewayError("invalid email"),
                                   GatewayError("HTTP 503", retryable=True)])
async def test_never_fails_over_after_a_timeout_or_a_refusal(error):
    first, second = Fake("paystack", error), Fake("flutterwave")
    initiate, store = await setup(first, second)
    if isinstance(error, GatewayTimeout):
        payment = await initiate(USER, order_id="ord_1", idempotency_key="k")
        assert payment.status is PaymentStatus.PROCESSING  # unknown: settled by a status query
    else:
        with pytest.raises(GatewayError):
            await initiate(USER, order_id="ord_1", idempotency_key="k")
        assert only_payment(store).status is PaymentStatus.FAILED  # the order may be paid again
    assert second.calls == []


async def test_all_gateways_unavailable_fails_the_intent():
    initiate, store = await setup(Fake("paystack", GatewayUnavailable("x")), Fake("flutterwave", GatewayUnavailable("y")))
    with pytest.raises(GatewayUnavailable):
        await initiate(USER, order_id="ord_1", idempotency_key="k")
    assert only_payment(store).status is PaymentStatus.FAILED


async def test_a_crash_after_phase_one_is_recovered_by_the_same_key():
    gateway = Fake("paystack")
    initiate, store = await setup(gateway)
    original = initiate._call_gateways

    async def crash(*args):
        raise ConnectionResetError("process died between phase 1 and the gateway call")
    initiate._call_gateways = crash
    with pytest.raises(ConnectionResetError):
        await initiate(USER, order_id="ord_1", idempotency_key="k")
    assert only_payment(store).status is PaymentStatus.REQUIRES_PAYMENT_METHOD
    initiate._call_gateways = original
    payment = await initiate(USER, order_id="ord_1", idempotency_key="k")
    assert payment.status is PaymentStatus.REQUIRES_ACTION and len(store.tables["payments"]) == 1
    again = await initiate(USER, order_id="ord_1", idempotency_key="k")
    assert again.id == payment.id and gateway.calls == [payment.reference]  # no second initialization


async def test_the_workers_replay_of_a_timed_out_create_records_the_page_it_finds():
    """Regression (found by the fake-gateway battery): after a timeout the intent is ``processing``
    with no gateway reference; the worker's replay of the create (``recover``) got the page back from
    the gateway, and dropped it, because only an intent still in ``requires_payment_method`` was
    recorded. The customer never saw a page, and the intent expired at its window."""
    gateway = Fake("stripe", GatewayTimeout("sent, no answer"))
    initiate, store = await setup(gateway)
    payment = await initiate(USER, order_id="ord_1", idempotency_key="k")
    assert (payment.status, payment.gateway_reference) == (PaymentStatus.PROCESSING, None)
    gateway.outcome = None  # the replay: the gateway answers with the page its first create made
    recovered = await initiate.recover(only_payment(store))
    assert (recovered.status, recovered.gateway_reference, recovered.authorization_url) == (
        PaymentStatus.PROCESSING, "stripe_ref", "https://stripe/pay")  # still unknown: verified next
    assert only_payment(store).authorization_url == "https://stripe/pay"
    assert gateway.calls == [payment.reference] * 2
