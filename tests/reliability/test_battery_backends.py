"""The battery on Postgres + Redis (issue 13): many identical initiations with one key, and many
concurrent partial refunds of random size. Sizes: quick in CI, long with PAYPORT_RELIABILITY_FULL=1."""
from __future__ import annotations

import asyncio
import random

import pytest

import container as composition
from tests.e2e.api import count_gateway_starts
from tests.e2e.conftest import api, container, e2e_dsn, real_backends, settings  # noqa: F401  (fixtures)
from tests.reliability.battery import size

INITIATIONS = 1000  # fast enough (about 5 s) for the quick variant too
REFUNDS = 50


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.mark.settings(rate_limits={**composition.RATE_LIMITS, "payment_initiate": (100_000, 60)})
async def test_concurrent_identical_initiations_with_one_key_make_one_intent_and_one_gateway_call(api, monkeypatch):  # noqa: F811
    h = await api.user()
    order = await api.order(h, ship_to=None)
    calls = count_gateway_starts(api, monkeypatch)

    async def attempt():
        resp, body = await api.call("POST", "/api/v1/payment/payments/initiate", {**h, "Idempotency-Key": "race"},
                                    json={"order_id": order["id"]})
        return resp.status, body
    results = await asyncio.gather(*(attempt() for _ in range(INITIATIONS)))
    statuses = [status for status, _ in results]
    assert set(statuses) <= {201, 409}, sorted(set(statuses))
    created = {body for status, body in results if status == 201}
    assert len(created) == 1  # every success is the same bytes: one payment, the rest replays
    payments = await api.json("GET", f"/api/v1/payment/payments?order_id={order['id']}", h, expect=200)
    assert len(payments["results"]) == 1  # one intent
    assert len(calls) == 1  # one gateway call
    print(f"\n[battery] {INITIATIONS} initiations: 201={statuses.count(201)} 409={statuses.count(409)} "
          f"intents={len(payments['results'])} gateway_calls={len(calls)}")


@pytest.mark.parametrize("seed", range(size(2, 10)))
async def test_concurrent_partial_refunds_of_random_size_never_over_refund(api, seed):  # noqa: F811
    """Every answer is 201 or a domain refusal (422): a 500 would be a raw driver error escaping."""
    rng = random.Random(seed)
    h = await api.user()
    order = await api.order(h, items=[("US-HEADPHONES", 1)], ship_to=None)  # 7,999 USD cents before tax and shipping
    payment = await api.initiate(h, order["id"], "pay")
    await api.sandbox(payment, "approve")
    amounts = [rng.randint(1, 800) for _ in range(REFUNDS)]

    async def refund(i: int):
        resp, _ = await api.call("POST", "/api/v1/payment/refunds", {**h, "Idempotency-Key": f"r{i}"},
                                 json={"payment_id": payment["id"], "amount": amounts[i], "reason": "other"})
        return resp.status
    statuses = await asyncio.gather(*(refund(i) for i in range(REFUNDS)))
    assert set(statuses) <= {201, 422}, sorted(set(statuses))
    listed = await api.json("GET", f"/api/v1/payment/refunds?payment_id={payment['id']}&limit=100", h)
    live = [r for r in listed["results"] if r["status"] != "failed"]
    refunded = sum(r["amount"] for r in live)
    assert statuses.count(201) == len(listed["results"])
    over = max(0, refunded - payment["amount"])
    assert over == 0
    refused = [amounts[i] for i, s in enumerate(statuses) if s == 422]
    # a refusal is only for an amount that did not fit in what was left
    assert all(a > payment["amount"] - refunded for a in refused)
    print(f"\n[battery] seed {seed}: {REFUNDS} refunds, 201={statuses.count(201)} 422={len(refused)} "
          f"refunded={refunded}/{payment['amount']} over_refund={over}")
