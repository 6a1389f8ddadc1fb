"""Each fraud rule over HTTP on both backends (tests/unit/test_fraud_rules.py judges them one by one;
here the real initiation feeds them: the client's address, the guest's id, the e-mail, the billing
country, the declines the gateway reported). Each lets a good attempt through and stops a bad one."""
from __future__ import annotations

import json

import pytest

import container as composition
from entrypoints.http.app import create_app
from tests.e2e.api import Api

BACKENDS = ("memory", "postgres")
HOUR = {"window_seconds": 3600}


@pytest.fixture
def shop(aiohttp_client, settings, tmp_path):
    async def start(rules: dict) -> Api:
        path = tmp_path / "fraud.json"
        path.write_text(json.dumps(rules))
        c = composition.build_container(settings, environ={"PAYPORT_FRAUD_FILE": str(path)})
        return Api(await aiohttp_client(create_app(c)))
    return start


async def attempt(api: Api, h: dict, key: str, expect=201, **extra) -> dict:
    order = await api.order(h, items=(("NG-RICE-5KG", 1),), ship_to=None)
    return await api.initiate(h, order["id"], key, expect=expect, **extra)


def held(payment: dict, reason: str) -> bool:
    return payment["status"] == "requires_review" and reason in payment["review_reason"]


def blocked(problem: dict, reason: str) -> bool:
    return problem["code"] == "payment_not_allowed" and any(reason in r for r in problem["reasons"])


async def test_velocity_per_client_address(shop):
    api = await shop({"velocity": {"ip": {"limit": 2, **HOUR, "action": "block"}}})
    for n in range(2):  # two customers, one address
        assert (await attempt(api, await api.user(), f"k{n}"))["status"] == "requires_action"
    third = await attempt(api, await api.user(), "k2", expect=409)
    assert blocked(third, "2 attempts by this ip")


async def test_velocity_per_user_and_per_email(shop):
    api = await shop({"velocity": {"user": {"limit": 1, **HOUR}, "email": {"limit": 2, **HOUR}}})
    h = await api.user(email="velo@example.com")
    assert (await attempt(api, h, "k1"))["status"] == "requires_action"
    assert held(await attempt(api, h, "k2"), "1 attempts by this user")
    assert (await attempt(api, await api.user(), "k3"))["status"] == "requires_action"  # someone else


async def test_velocity_per_guest(shop):
    api = await shop({"velocity": {"guest": {"limit": 1, **HOUR}}})
    guest = await api.guest()
    assert (await attempt(api, guest, "k1"))["status"] == "requires_action"
    assert held(await attempt(api, guest, "k2"), "1 attempts by this guest")
    assert (await attempt(api, await api.guest(), "k3"))["status"] == "requires_action"  # another guest
    assert (await attempt(api, await api.user(), "k4"))["status"] == "requires_action"  # a user is no guest


async def test_repeated_declines_by_email(shop):
    api = await shop({"declines": {"limit": 1, **HOUR, "by": ["email"]}})
    h = await api.user(email="card.tester@example.com")
    first = await attempt(api, h, "k1")
    assert (await api.sandbox(first, "approve"))["status"] == "succeeded"
    second = await attempt(api, h, "k2")  # an approved one is no decline
    assert (await api.sandbox(second, "decline"))["status"] == "failed"
    third = await attempt(api, h, "k3", expect=409)
    assert blocked(third, "1 declined payments by this email")
    assert (await attempt(api, await api.user(), "k4"))["status"] == "requires_action"


async def test_blocklisted_email_address_and_country(shop):
    api = await shop({"blocklist": {"emails": ["@spam.example"]}})
    assert (await attempt(api, await api.user(email="x@ham.example"), "k0"))["status"] == "requires_action"
    refused = await attempt(api, await api.user(email="x@spam.example"), "k1", expect=409)
    assert refused["reasons"] == ["the e-mail address is blocklisted"]
    clean = await shop({"blocklist": {"ips": ["198.51.100.0/24"], "countries": ["KP"]}})
    assert (await attempt(clean, await clean.user(), "k2", country="NG"))["status"] == "requires_action"
    assert blocked(await attempt(clean, await clean.user(), "k3", expect=409, country="KP"), "blocklisted")
    by_address = await shop({"blocklist": {"ips": ["127.0.0.0/8"]}})  # the test client's address
    assert blocked(await attempt(by_address, await by_address.user(), "k4", expect=409), "blocklisted")


async def test_billing_country_against_the_currency(shop):
    api = await shop({"country_currency": {"countries": {"NGN": ["NG"]}}})
    assert (await attempt(api, await api.user(), "k1", country="NG"))["status"] == "requires_action"
    assert (await attempt(api, await api.user(), "k2"))["status"] == "requires_action"  # no country given
    assert held(await attempt(api, await api.user(), "k3", country="US"), "billing country US does not use NGN")


async def test_amount_levels_per_currency(shop):
    api = await shop({"amounts": {"NGN": {"review": 1_100_000, "block": 2_000_000}}})
    h = await api.user()
    one = await api.order(h, items=(("NG-RICE-5KG", 1),), ship_to=None)  # NGN 8,500 + tax: below both
    assert (await api.initiate(h, one["id"], "k1"))["status"] == "requires_action"
    two = await api.order(h, items=(("NG-RICE-5KG", 2),), ship_to=None)  # above the review level
    assert held(await api.initiate(h, two["id"], "k2"), "above the review level 1100000")
    three = await api.order(h, items=(("NG-RICE-5KG", 3),), ship_to=None)  # above block
    assert blocked(await api.initiate(h, three["id"], "k3", expect=409), "above the block level 2000000")
