"""A Hypothesis stateful test of the money paths (issue 13's battery), on the memory adapters.

The whole service, with Stripe and Paystack pointed at the fake gateway on loopback (which records
every charge and refund it took), driven by a ``RuleBasedStateMachine`` through any interleaving
of: create an order, initiate (any gateway, a fresh or a reused Idempotency-Key), the customer
paying at the gateway (Paystack's page never closes: late captures; Stripe may capture short), a webhook (the truth from the
payment's gateway, a success forged from the other gateway with a valid signature of its own, or
a replay of any earlier delivery: duplicated, out of order), the redirect, time passing (the
worker runs on the fake clock: expiry), a refund (partial, full, over what is left; fresh or
reused key), the gateway finishing refunds, a process death between steps or armed at any
recovery point of ``tests/reliability/crashes.py``. After every step:

- the ledger balances (payment rows == captured, refund rows == succeeded refunds), per payment;
- refunded <= captured per payment (pending refunds counted);
- only legal transitions happened (each status seen is reachable from the one seen before it in
  ``domain.transitions``' tables; each entry of an order's status history is a legal edge);
- each capture at a gateway maps to exactly one of our payments, hence one order, and each payment
  we hold as succeeded was captured at its own gateway, for that amount;
- no order is paid twice: a second capture for an order is refunded in full (reserved with it).

``PAYPORT_RELIABILITY_FULL=1``: 300 examples of up to 50 steps; CI: 25 of up to 30.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json

import aiohttp
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from adapters.system import FakeClock
from container import RATE_LIMITS
from domain import transitions
from domain.orders import OrderStatus
from domain.payments import PaymentStatus, RefundStatus, TransactionType
from tests.e2e.conftest import FAST
from tests.reliability.battery import FULL
from tests.reliability.crashes import POINTS, Crash, Died, World
from tests.reliability.fake_gateway import FakeGateway, start

STRIPE_WHSEC = "whsec_stateful"
EXAMPLES, STEPS = (300, 50) if FULL else (25, 30)
PAID = {OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED}
_emails = itertools.count(1)
FIGURES = {"examples": 0, "steps": 0, "deaths": 0, "charges": 0, "captures refunded for not paying their order": 0,
           "forged webhooks": 0, "replayed webhooks": 0, "refunds": 0, "answers": {}}


def reachable(table, start, goal) -> bool:
    """``goal`` can follow ``start`` by legal transitions (one step may make several)."""
    seen, todo = {start}, [start]
    while todo:
        for nxt in table[todo.pop()]:
            if nxt is goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


class MoneyPaths(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.fake = FakeGateway(self.clock)
        self.run(self._start())
        FIGURES["examples"] += 1

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    async def _start(self) -> None:
        self.runner = await start(self.fake)
        self.fake.stripe.refund_status = "succeeded"
        environ = {"PAYPORT_JWT_SECRET": "stateful-battery-" + "j" * 40,
                   "STRIPE_SECRET_KEY": "sk_test_stateful", "STRIPE_WEBHOOK_SECRET": STRIPE_WHSEC,
                   "STRIPE_BASE_URL": self.fake.url("stripe"), "STRIPE_TIMEOUT": "2",
                   "PAYSTACK_SECRET_KEY": self.fake.paystack.secret_key, "PAYSTACK_BASE_URL": self.fake.url("paystack"),
                   "PAYSTACK_TIMEOUT": "2"}
        world_settings = {**FAST, "sandbox": "off", "demo_data": "on", "access_token_ttl": 400 * 86400,
                          "rate_limits": {policy: (1_000_000, 60) for policy in RATE_LIMITS}}
        self.world = World(world_settings, environ, self.clock, Crash())
        api = await self.world.boot()
        self.customers = [await api.user(email=f"sm{next(_emails)}@example.com") for _ in range(2)]
        self.orders: list[tuple[str, int]] = []  # (order id, customer)
        self.payments: list[dict] = []  # what the customer was told: id, reference, gateway, order, session
        self.deliveries: list[tuple[str, dict, bytes]] = []  # every webhook sent (for replays)
        self.seen: dict[tuple[str, str], object] = {}  # (table, id) -> the status seen last
        self.refunded_captures: set[str] = set()

    def teardown(self) -> None:
        try:
            self.run(self._settle_everything())
        finally:
            self._close()

    async def _settle_everything(self) -> None:
        """The end of every example: the gateways finish what they hold and the worker runs its
        course past every bound; then nothing is live and no refund is open (or it waits for a person)."""
        self.world.crash.armed = None
        for _ in range(4):
            for refund_id, refund in list(self.fake.paystack.refunds.items()):
                if refund["status"] in ("pending", "processing"):
                    await self.deliver("paystack", *self.fake.paystack.refund_event(refund_id, "processed"))
            for minutes in (11, 11, 11, 61, 25 * 60):
                self.clock.advance(minutes * 60)
                await self.worker()
        store = self.world.store
        live = [(p.id, p.gateway, p.status.value) for p in store.tables["payments"].values() if p.is_live]
        open_ = [(r.id, r.status.value) for r in store.tables["refunds"].values()
                 if not r.is_final and not r.needs_attention]
        assert not live and not open_, (live, open_)

    def _close(self) -> None:
        try:
            self.run(self._stop())
        finally:
            self.loop.close()

    async def _stop(self) -> None:
        FIGURES["charges"] += len(self.fake.charges)
        FIGURES["captures refunded for not paying their order"] += len(self.refunded_captures)
        await self.world.shutdown()
        await self.runner.cleanup()

    # -- the client and the gateways; each may meet a death ---------------------------------------------
    async def call(self, method: str, path: str, headers: dict | None = None, **kw) -> tuple[int | None, dict]:
        w = self.world
        try:
            resp, body = await w.api.call(method, path, headers, **kw)
        except aiohttp.ClientError:
            assert w.crash.dying, f"{method} {path}: the connection dropped with no death injected"
            FIGURES["deaths"] += 1
            await w.reboot()
            return None, {}
        FIGURES["answers"][resp.status] = FIGURES["answers"].get(resp.status, 0) + 1
        assert resp.status < 500 or resp.status in (502, 503, 504), (method, path, resp.status, body[:300])
        return resp.status, (json.loads(body) if body and resp.content_type.endswith("json") else {})

    async def deliver(self, gateway: str, headers: dict, body: bytes) -> None:
        self.deliveries.append((gateway, headers, body))
        status, _ = await self.call("POST", f"/api/v1/payment/webhooks/{gateway}",
                                    {**headers, "Content-Type": "application/json"}, data=body)
        assert status in (None, 200, 202, 409), status

    def stripe_event(self, kind: str, obj: dict) -> tuple[dict, bytes]:
        body = json.dumps({"id": f"evt_{self.fake.next_id()}", "object": "event", "type": kind,
                           "data": {"object": obj}}).encode()
        return self.stripe_signature(body), body

    def stripe_signature(self, body: bytes) -> dict:
        t = int(self.clock.now().timestamp())
        sig = hmac.new(STRIPE_WHSEC.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        return {"Stripe-Signature": f"t={t},v1={sig}"}

    def paystack_event(self, kind: str, data: dict) -> tuple[dict, bytes]:
        body = json.dumps({"event": kind, "data": data}).encode()
        sig = hmac.new(self.fake.paystack.secret_key.encode(), body, hashlib.sha512).hexdigest()
        return {"x-paystack-signature": sig}, body

    def truth(self, payment: dict) -> tuple[dict, bytes] | None:
        """The event the payment's own gateway would send about it now (None: nothing to tell)."""
        if payment["gateway"] == "stripe":
            session = self.fake.stripe.sessions.get(payment["session"] or "")
            if session is None or session["status"] == "open":
                return None
            kind = "checkout.session.completed" if session["status"] == "complete" else "checkout.session.expired"
            return self.stripe_event(kind, session)
        txn = self.fake.paystack.transactions.get(payment["reference"])
        if txn is None or txn["status"] != "success":
            return None
        return self.paystack_event("charge.success", {**txn})

    def forged(self, payment: dict) -> tuple[str, dict, bytes]:
        """A success for this payment from the *other* gateway, validly signed by that one."""
        amount = payment["amount"]
        if payment["gateway"] == "stripe":
            headers, body = self.paystack_event("charge.success", {
                "id": self.fake.next_id(), "reference": payment["reference"], "amount": amount, "currency": "USD",
                "status": "success", "channel": "card"})
            return "paystack", headers, body
        session = {"id": f"cs_forged_{self.fake.next_id()}", "object": "checkout.session", "status": "complete",
                   "payment_status": "paid", "client_reference_id": payment["reference"], "amount_total": amount,
                   "currency": "usd", "payment_intent": f"pi_forged_{self.fake.next_id()}",
                   "metadata": {"reference": payment["reference"]}}
        headers, body = self.stripe_event("checkout.session.completed", session)
        return "stripe", headers, body

    async def worker(self) -> None:
        try:
            await self.world.api.services.maintenance.run_once()
        except Died:
            FIGURES["deaths"] += 1
            await self.world.reboot()

    # -- rules ----------------------------------------------------------------------------------------
    @rule(customer=st.integers(0, 1), quantity=st.integers(1, 2))
    def create_order(self, customer, quantity):
        status, order = self.run(self.call("POST", "/api/v1/payment/orders", self.customers[customer],
                                           json={"items": [{"sku": "US-HEADPHONES", "quantity": quantity}]}))
        assert status in (None, 201), (status, order)
        if status == 201:
            self.orders.append((order["id"], customer))

    @precondition(lambda self: self.orders)
    @rule(which=st.integers(0, 99), gateway=st.sampled_from(["stripe", "paystack", None]), key=st.integers(0, 2))
    def initiate(self, which, gateway, key):
        order_id, customer = self.orders[which % len(self.orders)]
        body = {"order_id": order_id, **({"gateway": gateway} if gateway else {})}
        status, payment = self.run(self.call("POST", "/api/v1/payment/payments/initiate",
                                             {**self.customers[customer], "Idempotency-Key": f"{order_id}-{key}"},
                                             json=body))
        assert status in (None, 201, 409, 422, 502, 503, 504), (status, payment)
        if status == 201 and all(p["id"] != payment["id"] for p in self.payments):
            self.payments.append({"id": payment["id"], "reference": payment["reference"], "customer": customer,
                                  "gateway": payment["gateway"], "order": order_id, "amount": payment["amount"],
                                  "session": payment.get("gateway_reference")})
        elif status == 201:
            known = next(p for p in self.payments if p["id"] == payment["id"])
            known["session"] = known["session"] or payment.get("gateway_reference")

    @precondition(lambda self: self.payments)
    @rule(which=st.integers(0, 99), short=st.sampled_from([False, False, True]))
    def customer_pays(self, which, short=False):
        """``short``: Stripe captures 100 cents less than asked (the capture cannot pay its order)."""
        payment = self.payments[which % len(self.payments)]
        if payment["gateway"] == "stripe" and payment["session"] in self.fake.stripe.sessions:
            session = self.fake.stripe.sessions[payment["session"]]
            if short and session["status"] == "open":
                session["amount_total"] -= 100
            self.fake.stripe.pay(payment["session"])  # False once the page closed
        elif payment["gateway"] == "paystack" and payment["reference"] in self.fake.paystack.transactions:
            self.fake.paystack.pay(payment["reference"])  # Paystack's page never closes

    @precondition(lambda self: self.payments)
    @rule(which=st.integers(0, 99), kind=st.sampled_from(["truth", "forged", "replay"]))
    def webhook(self, which, kind):
        payment = self.payments[which % len(self.payments)]
        if kind == "replay" and self.deliveries:
            FIGURES["replayed webhooks"] += 1
            gateway, headers, body = self.deliveries[which % len(self.deliveries)]
            if gateway == "stripe":  # Stripe signs each delivery anew (its timestamp is checked)
                headers = self.stripe_signature(body)
            self.run(self.deliver(gateway, headers, body))
        elif kind == "forged":
            FIGURES["forged webhooks"] += 1
            self.run(self.deliver(*self.forged(payment)))
        elif (event := self.truth(payment)) is not None:
            self.run(self.deliver(payment["gateway"], *event))

    @precondition(lambda self: self.payments)
    @rule(which=st.integers(0, 99))
    def redirect(self, which):
        payment = self.payments[which % len(self.payments)]
        query = f"reference={payment['reference']}" + (f"&session_id={payment['session']}"
                                                      if payment["gateway"] == "stripe" and payment["session"] else "")
        status, _ = self.run(self.call("GET", f"/api/v1/payment/payments/callback?{query}",
                                       self.customers[payment["customer"]]))
        assert status in (None, 200, 303, 404, 409, 422, 502, 503, 504), status

    @rule(minutes=st.sampled_from([1, 11, 32, 61, 24 * 60 + 40]))
    def time_passes(self, minutes):
        self.clock.advance(minutes * 60)
        self.run(self.worker())

    @precondition(lambda self: self.payments)
    @rule(which=st.integers(0, 99), kind=st.sampled_from(["partial", "full", "over"]), key=st.integers(0, 1))
    def refund(self, which, kind, key):
        payment = self.payments[which % len(self.payments)]
        captured = self.world.store.tables["payments"][payment["id"]].captured_amount \
            if payment["id"] in self.world.store.tables["payments"] else 0
        body = {"payment_id": payment["id"], "reason": "requested_by_customer"}
        if kind == "partial":
            body["amount"] = max(1, captured // 3)
        elif kind == "over":
            body["amount"] = captured + 1
        FIGURES["refunds"] += 1
        status, answer = self.run(self.call("POST", "/api/v1/payment/refunds",
                                            {**self.customers[payment["customer"]],
                                             "Idempotency-Key": f"rf-{payment['id']}-{key}"}, json=body))
        assert status in (None, 201, 202, 404, 409, 422, 502, 503, 504), (status, answer)

    @rule()
    def paystack_finishes_refunds(self):
        async def finish():
            for refund_id, refund in list(self.fake.paystack.refunds.items()):
                if refund["status"] in ("pending", "processing"):
                    await self.deliver("paystack", *self.fake.paystack.refund_event(refund_id, "processed"))
        self.run(finish())

    @rule(point=st.sampled_from([None, *POINTS]))
    def death(self, point):
        """The process dies now, between steps (None), or the next operation to reach ``point`` dies there."""
        if point is None:
            FIGURES["deaths"] += 1
            self.run(self.world.reboot())
        else:
            self.world.crash.arm(point)

    @rule(customer=st.integers(0, 1), gateway=st.sampled_from(["stripe", "paystack"]),
          pays=st.sampled_from(["no", "yes", "yes", "short"]), forged=st.booleans())
    def purchase(self, customer, gateway, pays, forged):
        """A whole purchase in one step (so that money moves in most examples): order, initiate,
        perhaps a success forged by the other gateway while the payment is live, perhaps paying (in
        full or short),
        the gateway's webhook."""
        self.create_order(customer, 1)
        self.initiate(len(self.orders) - 1, gateway, 0)
        if self.payments and self.payments[-1]["order"] == self.orders[-1][0]:
            last = len(self.payments) - 1
            if forged:
                self.webhook(last, "forged")
            if pays != "no":
                self.customer_pays(last, short=pays == "short")
            self.webhook(last, "truth")

    # -- invariants -----------------------------------------------------------------------------------
    @invariant()
    def money_is_safe(self):
        FIGURES["steps"] += 1
        store = self.world.store
        payments = list(store.tables["payments"].values())
        refunds = list(store.tables["refunds"].values())
        orders = {o.id: o for o in store.tables["orders"].values()}
        for p in payments:
            rows = [t for t in store.ledger if t.payment_id == p.id]
            ours = [r for r in refunds if r.payment_id == p.id]
            paid_rows = sum(t.amount for t in rows if t.type is TransactionType.PAYMENT)
            refund_rows = sum(t.amount for t in rows if t.type is TransactionType.REFUND)
            assert paid_rows == p.captured_amount, (p.id, paid_rows, p.captured_amount)
            assert refund_rows == sum(r.amount for r in ours if r.status is RefundStatus.SUCCEEDED), (p.id, rows)
            assert sum(r.amount for r in ours if r.status is not RefundStatus.FAILED) <= p.captured_amount, p.id
        for table, items in (("payments", payments), ("refunds", refunds), ("orders", orders.values())):
            for item in items:
                before = self.seen.get((table, item.id))
                if before is not None and before is not item.status:
                    assert reachable(transitions.registered()[type(item.status)], before, item.status), \
                        (table, item.id, before, item.status)
                self.seen[(table, item.id)] = item.status
        for order in orders.values():
            for change in order.status_history[1:]:
                assert transitions.can_transition(OrderStatus(change.from_status), OrderStatus(change.to_status)), \
                    (order.id, change)
        by_reference = {p.reference: p for p in payments}
        charges = self.fake.charges
        for charge in charges:
            matching = [p for p in payments if p.reference == charge.reference]
            assert len(matching) == 1 and matching[0].order_id in orders, (charge, matching)
        charged = {(c.gateway, c.reference): c.amount for c in charges}
        for p in payments:
            if p.status is PaymentStatus.SUCCEEDED:  # captured at its own gateway, for that amount
                assert charged.get((p.gateway, p.reference)) == p.captured_amount, \
                    (p.id, p.gateway, p.captured_amount, charged)
        for order in orders.values():
            captured = [p for p in payments if p.order_id == order.id and p.status is PaymentStatus.SUCCEEDED]
            if order.payment_id is not None:
                assert order.payment_id in {p.id for p in captured} and order.status in PAID | {
                    OrderStatus.CANCELLED}, (order.id, order.status, order.payment_id)
            for p in captured:
                if p.id != order.payment_id:  # a second (or late) capture: all of it refunded
                    self.refunded_captures.add(p.id)
                    reserved = sum(r.amount for r in refunds if r.payment_id == p.id and r.status is not RefundStatus.FAILED)
                    assert reserved == p.captured_amount, (order.id, p.id, reserved, p.captured_amount)
        assert len(by_reference) == len(payments)


def test_money_paths_hold_under_any_interleaving():
    run_state_machine_as_test(MoneyPaths, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=not FULL,
        # CI does not shrink (a failure prints its steps as found, within the test's timeout)
        phases=list(Phase) if FULL else [Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    shown = " ".join(f"{k.replace(' ', '_')}={v}" for k, v in FIGURES.items() if k != "answers")
    print(f"\n[battery] stateful money paths (memory): {shown} answers={dict(sorted(FIGURES['answers'].items()))}")


pytestmark = pytest.mark.timeout(3000 if FULL else 120)
