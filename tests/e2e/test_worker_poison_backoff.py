"""A row the worker raises on (not a gateway's answer: a bug, a row it cannot read) is pushed back
with its backoff and, past its bound, goes to a person (issue 14 item 6): before, it was taken
again every claim lease (15 minutes) for ever, on no schedule of its own, and never surfaced."""
from __future__ import annotations

from application.errors import GatewayTimeout

BACKENDS = ("memory", "postgres")
HOUR = 3600


async def test_a_payment_the_worker_raises_on_backs_off_and_is_held_for_a_person(clock, api, backend, monkeypatch):
    h = await api.user()
    payment = await api.initiate(h, (await api.order(h, ship_to=None))["id"], "k1")
    s = api.services
    real_verify, asked = s.settlement.verify, []

    async def verify(p, hint=None):
        if p.id == payment["id"]:
            asked.append(clock.now())
            raise KeyError("a row the worker cannot read")
        return await real_verify(p, hint)
    monkeypatch.setattr(s.settlement, "verify", verify)
    for _ in range(26 * 60 // 5):  # a pass every 5 minutes for 26 hours
        clock.advance(5 * 60)
        await s.maintenance.run_once()
    gaps = [(b - a).total_seconds() for a, b in zip(asked, asked[1:], strict=False)]
    assert gaps[-1] >= HOUR and len(asked) < 26 * 4, (len(asked), gaps)  # backed off, not every lease
    held = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h, expect=200)
    assert held["status"] == "requires_review", held
    findings = await s.maintenance.reconcile()
    assert [(f.kind, f.subject) for f in findings] == [("payment_held_for_review", payment["id"])]


async def test_a_refund_the_worker_raises_on_is_flagged_for_a_person_within_an_hour(clock, api, backend, monkeypatch):
    h = await api.user()
    payment = await api.initiate(h, (await api.order(h, ship_to=None))["id"], "k1")
    await api.sandbox(payment, "approve")
    s = api.services
    real_refund = s.sandbox.refund

    async def timeout(request):
        raise GatewayTimeout("sent, no answer")
    monkeypatch.setattr(s.sandbox, "refund", timeout)
    refund = await api.refund(h, payment["id"], "r1", amount=1000)
    monkeypatch.setattr(s.sandbox, "refund", real_refund)

    async def resume(refund_id):
        raise RuntimeError("a refund the worker cannot follow")
    monkeypatch.setattr(s.refunds, "resume", resume)
    for _ in range(14):  # 70 minutes
        clock.advance(5 * 60)
        await s.maintenance.run_once()
    held = await api.json("GET", f"/api/v1/payment/refunds/{refund['id']}", h, expect=200)
    assert held["status"] == "pending" and held["needs_attention"], held
    assert "RuntimeError" in held["attention"]
    findings = await s.maintenance.reconcile()
    assert [(f.kind, f.subject) for f in findings] == [("refund_needs_attention", refund["id"])]
