"""Injected Redis failures at each invalidation and fill point (issue 14's battery), on Postgres +
Redis: a payment is paid (and its order with it) while one cache operation fails; once Redis
answers again and the worker's replay has run, no read shows a payment or an order older than
what was committed. Reads during the fault may be stale only as far as the journal allows, and
no request fails because the cache did."""
from __future__ import annotations

import pytest

from adapters.redis.cache import RedisCache
from tests.e2e.test_durable_invalidation import _replay

BACKENDS = ("postgres",)
#: every RedisCache operation a cached read or a committed change goes through (a read: the entry
#: with its generation in one MGET, then the compare-and-set fill; a change: the invalidation after
#: its commit). get, set, incr and delete are not on these paths: each point below must be met, or
#: the test says so
POINTS = ("get_with_counter", "set_if_unchanged", "invalidate")
FIGURES: dict[str, dict] = {}


@pytest.mark.parametrize("point", POINTS)
async def test_no_read_is_older_than_the_commit_once_redis_answers(point, clock, api, backend, container, monkeypatch):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], f"k-{point}")
    paths = {"payment": f"/api/v1/payment/payments/{payment['id']}", "order": f"/api/v1/payment/orders/{order['id']}"}
    for path in paths.values():
        await api.json("GET", path, h, expect=200)  # cached, before the change
    failures, real = {"calls": 0}, getattr(RedisCache, point)

    async def down(self, *args, **kwargs):
        if args and isinstance(args[0], str) and "sandbox" in args[0]:
            return await real(self, *args, **kwargs)  # the sandbox's own record (the gateway's side), not the cache
        failures["calls"] += 1
        raise ConnectionError(f"redis {point} failed")
    monkeypatch.setattr(RedisCache, point, down)
    await api.sandbox(payment, "approve")  # committed: paid, whatever the cache does
    during = {name: (await api.json("GET", path, h, expect=200))["status"] for name, path in paths.items()}
    monkeypatch.undo()  # Redis answers again
    clock.advance(31)
    await _replay(container)
    after = {name: (await api.json("GET", path, h, expect=200))["status"] for name, path in paths.items()}
    assert failures["calls"] > 0, f"{point} is not on the path any more: update POINTS"
    assert after == {"payment": "succeeded", "order": "paid"}, (point, during, after)
    FIGURES[point] = {"failed calls": failures["calls"], "during": during, "after": after}
    print(f"\ncache fault at {point}: {FIGURES[point]}")
