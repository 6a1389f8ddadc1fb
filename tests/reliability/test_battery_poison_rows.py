"""The worker over poison rows (issue 14's battery): more rows that can never be processed than one
scan takes (payments whose verification raises, webhooks whose settlement raises, refunds whose
follow-up raises), older than the healthy rows behind them. Over many passes with the clock
moving, every healthy row is processed within its bound: its first due pass or the next, never
stalled behind the poison, and a poison row's failure never aborts a pass.

CI runs 60 passes; ``PAYPORT_RELIABILITY_FULL=1`` runs 1,000.
"""
from __future__ import annotations

import os

import pytest
from dependency_injector import providers

from adapters.system import FakeClock
from application.errors import GatewayTimeout
from container import RATE_LIMITS
from tests.e2e.conftest import api, backend, container, settings  # noqa: F401  (fixtures)

FULL = os.environ.get("PAYPORT_RELIABILITY_FULL") == "1"
PASSES = 1_000 if FULL else 60
POISON = int(os.environ.get("POISON", "110"))  # more than a scan takes (100)
HEALTHY = 5
FIGURES: dict[str, object] = {}


@pytest.fixture
def clock(container) -> FakeClock:  # noqa: F811  (the imported fixture)
    fake = FakeClock()
    container.core.clock.override(providers.Object(fake))
    return fake


@pytest.mark.settings(rate_limits={policy: (1_000_000, 60) for policy in RATE_LIMITS})
async def test_healthy_rows_are_processed_within_their_bound_behind_poison_rows(clock, api, monkeypatch):  # noqa: F811
    s, sandbox = api.services, api.services.sandbox
    h = await api.user()

    async def started(key: str) -> dict:
        order = await api.order(h, items=(("NG-RICE-5KG", 1),), ship_to=None)
        return await api.initiate(h, order["id"], key)

    # refunds first (they need paid payments): poison ones whose follow-up raises, healthy ones
    # whose create timed out once (the worker finds them)
    real_refund, real_resume = sandbox.refund, s.refunds.resume

    async def timed_out(request):
        raise GatewayTimeout("sent, no answer")
    poison_refunds, healthy_refunds = set(), []
    monkeypatch.setattr(sandbox, "refund", timed_out)
    for n in range(POISON + HEALTHY):
        payment = await started(f"rp{n}")
        monkeypatch.setattr(sandbox, "refund", real_refund)
        await api.sandbox(payment, "approve")
        monkeypatch.setattr(sandbox, "refund", timed_out)
        refund = await api.refund(h, payment["id"], f"rf{n}", amount=100)
        (poison_refunds.add(refund["id"]) if n < POISON else healthy_refunds.append(refund["id"]))
    monkeypatch.setattr(sandbox, "refund", real_refund)

    async def resume(refund_id):
        if refund_id in poison_refunds:
            raise RuntimeError("a refund the worker cannot follow")
        return await real_resume(refund_id)
    monkeypatch.setattr(s.refunds, "resume", resume)

    # payments: poison ones whose verification raises, healthy ones that simply expire
    poison_payments = {(await started(f"pp{n}"))["id"] for n in range(POISON)}
    healthy_payments = [(await started(f"hp{n}"))["id"] for n in range(HEALTHY)]
    real_verify = s.settlement.verify

    async def verify(payment, hint=None):
        if payment.id in poison_payments:
            raise KeyError("a row the worker cannot read")
        return await real_verify(payment, hint)
    monkeypatch.setattr(s.settlement, "verify", verify)

    # webhooks: stored, their settlement failing; poison ones fail for good, healthy ones once
    real_apply, broken_once = s.settlement.apply, set()
    poison_refs, healthy_hooks = set(), []

    async def apply(reference, report, **options):
        if reference in poison_refs or reference in broken_once:
            broken_once.discard(reference)
            raise ConnectionResetError("database went away mid-settlement")
        return await real_apply(reference, report, **options)
    monkeypatch.setattr(s.settlement, "apply", apply)
    for n in range(POISON + HEALTHY):
        payment = await started(f"wp{n}")
        (poison_refs.add(payment["reference"]) if n < POISON else
         (broken_once.add(payment["reference"]), healthy_hooks.append(payment["id"])))
        _, headers, body = await sandbox.settle(payment["reference"], approve=True)
        answer = await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=200)
        assert answer["status"] == "failed"

    async def status(kind: str, id_: str) -> str:
        return (await api.json("GET", f"/api/v1/payment/{kind}/{id_}", h, expect=200))["status"]

    done_at: dict[str, int] = {}
    for n in range(PASSES):
        clock.advance(60)
        await s.maintenance.run_once()  # never raises, whatever the poison does
        for id_ in healthy_payments:
            if id_ not in done_at and await status("payments", id_) == "expired":
                done_at[id_] = n
        for id_ in healthy_hooks:
            if id_ not in done_at and await status("payments", id_) == "succeeded":
                done_at[id_] = n
        for id_ in healthy_refunds:
            if id_ not in done_at and await status("refunds", id_) == "succeeded":
                done_at[id_] = n
    # bounds: each healthy row's own schedule, as it runs with no poison at all (POISON=0 shows the
    # same passes): a payment ends at its first check past its 31-minute window (checks are spaced
    # with backoff and jitter: within 9 minutes); a failed webhook is retried after its
    # first backoff (30 s); a refund whose create never reached the gateway is looked up at ages 2,
    # 4, 8, 16 and 32 minutes and sent again once 10 minutes passed without a record
    bounds = {**{i: 40 for i in healthy_payments}, **{i: 2 for i in healthy_hooks}, **{i: 33 for i in healthy_refunds}}
    late = {i: (done_at.get(i), bound) for i, bound in bounds.items() if done_at.get(i, PASSES) > bound}
    assert not late, late
    for id_ in list(poison_payments)[:3]:
        assert await status("payments", id_) == "requires_action"  # untouched, and nothing else stalled
    FIGURES.update(passes=PASSES, poison_rows=3 * POISON, healthy_rows=len(bounds),
                   latest_pass={"payments": max(done_at[i] for i in healthy_payments),
                                "webhooks": max(done_at[i] for i in healthy_hooks),
                                "refunds": max(done_at[i] for i in healthy_refunds)})
    print(f"\npoison battery: {FIGURES}")
