"""Gateway configuration at run time, over HTTP: admins change the routing table, disable a gateway
and set its limits without a restart; the change is stored, applied at once in the process that
saved it and in another process soon after; no secret is ever shown."""
from __future__ import annotations


import pytest
from dependency_injector import providers

import container as composition
from adapters.gateways.routing import StaticGatewayRegistry
from application.ports import InitializedPayment
from domain.payments import PaymentStatus
from entrypoints.http.app import create_app
from tests.e2e.api import Api

BACKENDS = ("memory", "postgres")
A = "/api/v1/admin/gateways/config"
SECRET = "s" * 40


class Fake:
    """A gateway that takes NGN and answers every initialization with a page of its own."""

    weak_webhook_auth = False
    currencies = frozenset({"NGN"})

    def __init__(self, name: str) -> None:
        self.name, self.started = name, []

    async def initialize_payment(self, request):
        self.started.append(request.reference)
        return InitializedPayment(PaymentStatus.REQUIRES_ACTION, f"{self.name}_{request.reference}",
                                  f"https://{self.name}.example/pay/{request.reference}")


def with_fakes(container) -> dict[str, Fake]:
    """The container's registry, guarded as the service's is, over two fake NGN gateways."""
    fakes = {"paystack": Fake("paystack"), "flutterwave": Fake("flutterwave")}
    registry = StaticGatewayRegistry(fakes, guard=True)
    container.gateways.registry.override(providers.Object(registry))
    return fakes


@pytest.fixture
def fakes(container) -> dict[str, Fake]:
    return with_fakes(container)


async def start_payment(api, key: str, expect=201):
    h = await api.user()
    order = await api.order(h, items=(("NG-RICE-5KG", 1),), ship_to=None)
    return await api.initiate(h, order["id"], key, expect=expect)


async def test_an_admin_changes_routing_without_a_restart(fakes, api, admin):
    shown = await api.json("GET", A, admin, expect=200)
    assert shown["routes"]["NGN"] == ["paystack", "flutterwave"] and shown["routes_source"] == "built-in"
    assert (await start_payment(api, "k1"))["gateway"] == "paystack"
    changed = await api.json("PUT", f"{A}/routes", admin, expect=200,  # the table as shown, NGN reordered
                             json={"routes": {**shown["routes"], "NGN": ["flutterwave", "paystack"]}, "version": 0})
    assert changed["routes"]["GHS"] == ["paystack", "flutterwave"]  # kept, though these fakes take NGN only
    assert changed["routes"]["NGN"] == ["flutterwave", "paystack"] and changed["routes_version"] == 1
    assert changed["routes_source"] == "configured" and changed["routes_updated_by"]
    assert (await start_payment(api, "k2"))["gateway"] == "flutterwave"  # at once, no restart
    stale = await api.json("PUT", f"{A}/routes", admin, json={"routes": shown["routes"], "version": 0}, expect=409)
    assert stale["code"] == "concurrent_update"
    off = await api.json("PATCH", f"{A}/flutterwave", admin, json={"enabled": False}, expect=200)
    assert next(g for g in off["gateways"] if g["name"] == "flutterwave")["enabled"] is False
    assert (await start_payment(api, "k3"))["gateway"] == "paystack"  # the next of the route
    await api.json("PATCH", f"{A}/paystack", admin, json={"limits": {"NGN": {"max": 100_000}}}, expect=200)
    refused = await start_payment(api, "k4", expect=409)  # nobody takes it now: refused before any call
    assert refused["code"] == "gateway_not_offered" and "at most 100000" in refused["detail"]
    assert len(fakes["paystack"].started) == 2 and len(fakes["flutterwave"].started) == 1
    back = await api.json("PUT", f"{A}/routes", admin, json={"routes": None}, expect=200)
    assert back["routes"]["NGN"] == ["paystack", "flutterwave"] and back["routes_version"] == 2


async def test_configuration_that_cannot_work_is_refused(fakes, api, admin):
    for routes, field in (({"NAIRA": ["paystack"]}, "routes.NAIRA.[key]"), ({"NGN:nigeria": ["paystack"]}, "routes.NGN:nigeria.[key]"),
                          ({"NGN": ["sandbox"]}, "routes.NGN"), ({"NGN": ["nobody"]}, "routes.NGN"),
                          ({"NGN": ["paystack", "paystack"]}, "routes.NGN"), ({"ZZZ": ["paystack"]}, "routes.ZZZ")):
        refused = await api.json("PUT", f"{A}/routes", admin, json={"routes": routes}, expect=422)
        assert refused["errors"][0]["field"] == field, routes
    await api.json("PUT", f"{A}/routes", admin, json={"routes": {"NGN": []}}, expect=422)
    bad = await api.json("PATCH", f"{A}/paystack", admin, json={"limits": {"NGN": {"min": 9, "max": 1}}}, expect=422)
    assert bad["errors"][0]["field"] == "limits.NGN"
    await api.json("PATCH", f"{A}/paystack", admin, json={"limits": {"NGN": {"max": -1}}}, expect=422)
    await api.json("PATCH", f"{A}/nobody", admin, json={"enabled": True}, expect=404)
    no_keys = await api.json("PATCH", f"{A}/stripe", admin, json={"enabled": True}, expect=409)
    assert "no credentials" in no_keys["detail"]
    h = await api.user()
    await api.json("GET", A, h, expect=403)
    await api.json("PUT", f"{A}/routes", h, json={"routes": None}, expect=403)
    assert (await api.json("GET", A, admin, expect=200))["routes_version"] == 0  # nothing was saved


async def test_no_secret_is_ever_shown(aiohttp_client, settings):
    env = {"STRIPE_SECRET_KEY": "sk_test_secret_value", "STRIPE_WEBHOOK_SECRET": "whsec_secret_value",
           "PAYSTACK_SECRET_KEY": "sk_test_paystack_secret"}
    c = composition.build_container({**settings, "sandbox": "off"}, environ=env)
    api = Api(await aiohttp_client(create_app(c)))
    tokens = await api.json("POST", "/api/v1/auth/login", expect=200,
                            json={"email": "admin@example.com", "password": "admin-password-1"})
    admin = {"Authorization": f"Bearer {tokens['access']}"}
    resp, body = await api.call("GET", A, admin, expect=200)
    changed, body2 = await api.call("PATCH", f"{A}/stripe", admin, json={"limits": {"USD": {"min": 50}}}, expect=200)
    for raw in (body, body2):
        assert b"secret_value" not in raw and b"paystack_secret" not in raw and b"sk_test" not in raw
    shown = await resp.json()
    stripe = next(g for g in shown["gateways"] if g["name"] == "stripe")
    assert (stripe["available"], stripe["credentials"], stripe["enabled"]) == (True, "configured", True)
    flutterwave = next(g for g in shown["gateways"] if g["name"] == "flutterwave")
    assert (flutterwave["available"], flutterwave["credentials"]) == (False, "missing")
    assert "FLUTTERWAVE_SECRET_KEY" in flutterwave["reason"]
