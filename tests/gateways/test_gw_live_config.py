"""The registry under a configuration changed at run time: routes replaced, gateways disabled for
new payments (their payments still settle), amount limits refused before any call, and what a
gateway answered about a payment reported to an observer."""
from __future__ import annotations

import pytest

from adapters.gateways.routing import GatewayNotOffered, StaticGatewayRegistry
from application.errors import GatewayUnavailable
from application.ports import InitializePayment, InitializedPayment, VerifiedPayment
from application.ports.backoffice import GatewayRules
from domain.payments import PaymentStatus


class Fake:
    weak_webhook_auth = False
    finds_by_reference = False

    def __init__(self, name, currencies=frozenset({"NGN", "GHS"})):
        self.name, self.currencies, self.calls = name, currencies, []

    async def initialize_payment(self, request):
        self.calls.append(request.amount)
        return InitializedPayment(PaymentStatus.REQUIRES_ACTION, "gw_1", "https://pay")

    async def verify_payment(self, reference, gateway_reference):
        return VerifiedPayment(PaymentStatus.SUCCEEDED, 500, "NGN", "gw_1", "success", payment_method="card")


def request(amount=500, currency="NGN"):
    return InitializePayment(reference="pp1", amount=amount, currency=currency, email=None, phone=None,
                             callback_url="http://x/cb", description="order")


def registry():
    fakes = {n: Fake(n) for n in ("paystack", "flutterwave", "sandbox")}
    return StaticGatewayRegistry(fakes, guard=True), fakes


def test_a_routing_table_replaces_the_built_in_one_and_goes_back():
    reg, _ = registry()
    assert reg.route("NGN", None) == ["paystack", "flutterwave"]
    reg.configure(GatewayRules(routes={"NGN": ("flutterwave",), "GHS:GH": ("flutterwave", "paystack")}))
    assert reg.route("NGN", None) == ["flutterwave"] and reg.route("GHS", "GH") == ["flutterwave", "paystack"]
    assert reg.route("GHS", None) == ["sandbox"]  # no route for it any more: only the sandbox, as before
    reg.configure(GatewayRules())
    assert reg.route("NGN", None) == ["paystack", "flutterwave"]


def test_a_disabled_gateway_is_left_out_of_routes_but_still_serves_its_payments():
    reg, fakes = registry()
    reg.configure(GatewayRules(disabled=frozenset({"paystack", "sandbox"})))
    assert reg.route("NGN", None) == ["flutterwave"] and reg.route("JPY", None) == []
    assert reg.get("paystack") is not None and reg.get("paystack").finds_by_reference is False  # attributes pass


async def test_a_refused_start_raises_before_any_call_and_lets_the_next_gateway_try():
    reg, fakes = registry()
    reg.configure(GatewayRules(disabled=frozenset({"flutterwave"}),
                               limits={"paystack": {"NGN": (100, 1000)}}))
    assert (await reg.get("paystack").initialize_payment(request(500))).gateway_reference == "gw_1"
    for amount, why in ((99, "at least 100"), (1001, "at most 1000")):
        with pytest.raises(GatewayNotOffered, match=why) as refused:
            await reg.get("paystack").initialize_payment(request(amount))
        assert isinstance(refused.value, GatewayUnavailable)  # nothing was done there: failover may go on
    with pytest.raises(GatewayNotOffered, match="disabled by an administrator"):
        await reg.get("flutterwave").initialize_payment(request())
    assert (await reg.get("paystack").initialize_payment(request(5000, "GHS"))).status is PaymentStatus.REQUIRES_ACTION
    assert fakes["paystack"].calls == [500, 5000] and fakes["flutterwave"].calls == []


async def test_what_a_gateway_answered_is_reported_and_a_broken_observer_costs_nothing():
    reg, _ = registry()
    heard = []

    async def observe(gateway, reference, operation, report):
        heard.append((gateway, reference, operation, report.status, report.payment_method))
    reg.observe(observe)
    report = await reg.get("paystack").verify_payment("pp1", None)
    assert heard == [("paystack", "pp1", "verify", PaymentStatus.SUCCEEDED, "card")]

    async def broken(*args):
        raise RuntimeError("the database is down")
    reg.observe(broken)
    assert await reg.get("paystack").verify_payment("pp1", None) == report


def test_an_unguarded_registry_hands_out_the_gateways_themselves():
    fakes = {"paystack": Fake("paystack")}
    reg = StaticGatewayRegistry(fakes)
    assert reg.get("paystack") is fakes["paystack"]
