"""The fraud rules over HTTP: a payment above the review level is held before any gateway call and
listed in the admin review queue; approving it sends it on to its gateway (the customer pays), and
rejecting it fails it (the customer is told); a blocked attempt fails before any gateway call,
with the reasons on its intent."""
from __future__ import annotations

import json

import pytest

import container as composition
from domain import events

BACKENDS = ("memory", "postgres")
A = "/api/v1/admin"
RULES = {"amounts": {"NGN": {"review": 1_100_000}},  # NGN 11,000.00 (one bag shipped is below it, two above)
         "blocklist": {"emails": ["@blocked.example"]}}


@pytest.fixture
def container(settings, tmp_path):
    path = tmp_path / "fraud.json"
    path.write_text(json.dumps(RULES))
    return composition.build_container(settings, environ={"PAYPORT_FRAUD_FILE": str(path)})


async def held_payment(api, key="k1"):
    h = await api.user()
    order = await api.order(h, items=(("NG-RICE-5KG", 2),), ship_to=None)  # NGN 17,000 + tax
    payment = await api.initiate(h, order["id"], key)
    return h, order, payment


def gateway_calls(api) -> list[str]:
    """The references the sandbox is asked to initialize, from now on."""
    calls = []
    sandbox = api.services.sandbox
    real = sandbox.initialize_payment

    async def counted(request):
        calls.append(request.reference)
        return await real(request)
    sandbox.initialize_payment = counted
    return calls


async def test_clearing_the_review_queue(api, admin):
    calls = gateway_calls(api)
    h, order, payment = await held_payment(api)
    assert payment["status"] == "requires_review" and payment["authorization_url"] is None
    assert "above the review level 1100000" in payment["review_reason"]
    assert calls == []  # held before any gateway call
    h2, order2, second = await held_payment(api, "k2")
    queue = await api.json("GET", f"{A}/fraud/reviews", admin, expect=200)
    assert [p["id"] for p in queue["results"]] == [payment["id"], second["id"]]  # oldest first
    approved = await api.json("POST", f"{A}/fraud/reviews/{payment['id']}/approve", admin, expect=200)
    assert approved["status"] == "requires_action" and approved["authorization_url"]
    assert calls == [payment["reference"]]
    paid = await api.sandbox(approved, "approve")  # the customer pays on the gateway's page
    assert paid["status"] == "succeeded"
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "paid"
    rejected = await api.json("POST", f"{A}/fraud/reviews/{second['id']}/reject", admin,
                              json={"reason": "card reported stolen"}, expect=200)
    assert rejected["status"] == "failed" and "card reported stolen" in rejected["last_error"]
    assert "payment_failed" in await api.kinds(h2)
    assert (await api.json("GET", f"{A}/fraud/reviews", admin, expect=200))["results"] == []
    # nothing left to decide: approving or rejecting again is refused
    again = await api.json("POST", f"{A}/fraud/reviews/{second['id']}/approve", admin, expect=409)
    assert again["status"] == 409
    await api.json("POST", f"{A}/fraud/reviews/{payment['id']}/reject", admin, json={"reason": "x"}, expect=409)
    await api.json("POST", f"{A}/fraud/reviews/pay_nope/approve", admin, expect=404)
    await api.json("POST", f"{A}/fraud/reviews/{second['id']}/reject", admin, json={}, expect=422)
    # the order of the rejected payment may be paid another way
    assert (await api.initiate(h2, order2["id"], "k3"))["status"] == "requires_review"


async def test_a_blocked_attempt_fails_before_any_gateway_call_with_its_reasons(api, container, admin):
    seen, calls = [], gateway_calls(api)

    async def record(event):
        seen.append(event)
    container.storage.bus().subscribe(events.PaymentBlocked, record)
    h = await api.user(email="mallory@blocked.example")
    order = await api.order(h, items=(("NG-RICE-5KG", 1),), ship_to=None)
    refused = await api.initiate(h, order["id"], "k1", expect=409)
    assert refused["code"] == "payment_not_allowed" and refused["reasons"] == ["the e-mail address is blocklisted"]
    assert calls == []  # no gateway was asked
    # the attempt is an intent that failed, with its reasons, and the customer is told
    [payment] = (await api.json("GET", f"/api/v1/payment/payments?order_id={order['id']}", h))["results"]
    assert (payment["id"], payment["status"]) == (refused["payment_id"], "failed")
    assert payment["last_error"] == "refused by the risk rules: the e-mail address is blocklisted"
    assert payment["authorization_url"] is None and payment["captured_amount"] == 0
    assert "payment_failed" in await api.kinds(h)
    detail = await api.json("GET", f"{A}/payments/{payment['id']}", admin, expect=200)
    assert "the e-mail address is blocklisted" in json.dumps(detail)
    [event] = seen
    assert (event.order_id, event.reasons) == (order["id"], "the e-mail address is blocklisted")
    # a retry with the key gets the same refusal, and nothing more is made or asked
    again = await api.initiate(h, order["id"], "k1", expect=409)
    assert (again["code"], again["payment_id"], again["reasons"]) == ("payment_not_allowed", payment["id"],
                                                                      refused["reasons"])
    # the order is still pending (payable another way); another attempt is judged afresh
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "pending"
    other = await api.initiate(h, order["id"], "k2", expect=409)
    assert other["payment_id"] != payment["id"] and calls == []
    listed = (await api.json("GET", f"/api/v1/payment/payments?order_id={order['id']}", h))["results"]
    assert sorted(p["status"] for p in listed) == ["failed", "failed"]


async def test_the_rules_in_force_are_shown_to_admins(api, admin):
    shown = await api.json("GET", f"{A}/fraud/rules", admin, expect=200)
    assert shown["amounts"]["NGN"] == {"review": 1_100_000, "block": 500_000_000}
    assert shown["blocklist"]["emails"] == ["@blocked.example"]
