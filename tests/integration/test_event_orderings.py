"""1,000 shuffled orderings of a payment's Stripe events, with re-deliveries, all end in the state of
the canonical order: once terminal, nothing moves; money is recorded exactly once."""
from __future__ import annotations

import hashlib
import hmac
import json
import random

import aiohttp
import pytest

from adapters.gateways.config import StripeSettings
from adapters.gateways.routing import StaticGatewayRegistry
from adapters.gateways.stripe import StripeGateway
from adapters.memory.infrastructure import InMemoryEventBus
from adapters.memory.store import MemoryStore
from adapters.memory.uow import MemoryUnitOfWorkFactory
from adapters.system import FakeClock, RandomIds
from application.payments.refunds import Refunds
from application.payments.settle import PaymentSettlement
from application.payments.webhooks import Webhooks
from domain import events
from domain.checkout import LineItem
from domain.orders import Order, OrderStatus
from domain.payments import PaymentIntent, PaymentStatus
from domain.users import Principal, Role

SECRET = "whsec_orderings"
REF, AMOUNT = "ppref0001", 2550
OWNER = Principal("usr_1", Role.CUSTOMER, "a@example.com", "A")


def stripe_event(evt: str, kind: str, obj: dict) -> bytes:
    return json.dumps({"id": evt, "type": kind, "data": {"object": obj}}).encode()


def intent(status: str) -> dict:
    return {"id": "pi_1", "object": "payment_intent", "status": status, "amount": AMOUNT, "currency": "usd",
            "metadata": {"reference": REF}}


SESSION_DONE = {"id": "cs_1", "object": "checkout.session", "status": "complete", "payment_status": "paid",
                "client_reference_id": REF, "amount_total": AMOUNT, "currency": "usd", "payment_intent": "pi_1"}
SUCCESS_STORY = [
    stripe_event("evt_a", "payment_intent.payment_failed", intent("requires_payment_method")),  # declined, retried
    stripe_event("evt_b", "payment_intent.processing", intent("processing")),
    stripe_event("evt_c", "payment_intent.succeeded", intent("succeeded")),
    stripe_event("evt_d", "checkout.session.completed", SESSION_DONE),
]
FAILURE_STORY = [
    stripe_event("evt_e", "payment_intent.processing", intent("processing")),
    stripe_event("evt_f", "payment_intent.payment_failed", intent("requires_payment_method")),
    stripe_event("evt_g", "checkout.session.async_payment_failed", {**SESSION_DONE, "payment_status": "unpaid"}),
]


async def replay(stripe: StripeGateway, clock: FakeClock, deliveries: list[bytes]):
    store, bus, published = MemoryStore(), InMemoryEventBus(), []
    bus.subscribe(events.DomainEvent, lambda e: _append(published, e))
    uow, ids = MemoryUnitOfWorkFactory(store, bus), RandomIds(clock)
    registry = StaticGatewayRegistry({"stripe": stripe})
    settlement = PaymentSettlement(uow, registry, clock, ids)
    webhooks = Webhooks(uow, registry, settlement, Refunds(uow, None, registry, clock, ids), clock, ids)
    now = clock.now()
    order = Order.place(id="ord_1", order_number="PP-1", owner=OWNER, items=[LineItem("S", "p", "S", AMOUNT, 1)],
                        currency="USD", subtotal=AMOUNT, discount=0, shipping=0, tax=0, total=AMOUNT, now=now)
    payment = PaymentIntent.create(id="pay_1", order_id="ord_1", owner_id=OWNER.id, amount=AMOUNT, currency="USD",
                                   gateway="stripe", reference=REF, now=now)
    payment.started(order.context(), "cs_1", "https://checkout.stripe.com/x", PaymentStatus.REQUIRES_ACTION, now)
    async with uow() as u:
        await u.orders.add(order)
        await u.payments.add(payment)
        await u.commit()
    published.clear()
    for body in deliveries:
        ts = int(clock.now().timestamp())
        mac = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        entry, new = await webhooks.receive("stripe", {"Stripe-Signature": f"t={ts},v1={mac}"}, body, {})
        if new:
            await webhooks.process(entry.id)
    return store, published


async def _append(published, event):
    published.append(event)


def deliveries(story: list[bytes], rng: random.Random) -> list[bytes]:
    sent = list(story) + [rng.choice(story) for _ in range(rng.randint(0, 4))]  # re-deliveries
    rng.shuffle(sent)
    return sent


@pytest.mark.parametrize("story, final", [(SUCCESS_STORY, PaymentStatus.SUCCEEDED),
                                          (FAILURE_STORY, PaymentStatus.FAILED)])
async def test_every_ordering_ends_where_the_canonical_order_does(story, final):
    clock, rng = FakeClock(), random.Random(20261122)
    async with aiohttp.ClientSession() as session:
        stripe = StripeGateway(session, StripeSettings(secret_key="sk_test_x", webhook_secret=SECRET), clock=clock)
        canonical_store, _ = await replay(stripe, clock, story)
        assert canonical_store.tables["payments"]["pay_1"].status is final
        outcomes = set()
        for _ in range(500):
            store, published = await replay(stripe, clock, deliveries(story, rng))
            payment, order = store.tables["payments"]["pay_1"], store.tables["orders"]["ord_1"]
            ledger = [t for t in store.ledger if t.payment_id == "pay_1"]
            completed = [e for e in published if isinstance(e, events.PaymentCompleted)]
            outcomes.add((payment.status, payment.captured_amount, order.status, len(ledger), len(completed)))
    if final is PaymentStatus.SUCCEEDED:
        assert outcomes == {(PaymentStatus.SUCCEEDED, AMOUNT, OrderStatus.PAID, 1, 1)}
    else:
        assert outcomes == {(PaymentStatus.FAILED, 0, OrderStatus.PENDING, 0, 0)}
