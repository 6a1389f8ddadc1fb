"""Refunds settled only by the gateway's word (issue 14 items 1 and 2), on both backends: an error
on a repeat create call never settles a refund; a refund the gateway accepted is followed by
lookups, never created again; one that stays unresolved goes to a person; a success the gateway
reports for a refund we hold as failed is recorded, flagged and reported, never dropped."""
from __future__ import annotations

import pytest

from application.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from application.ports.gateways import RefundOutcome
from domain.payments import RefundStatus

BACKENDS = ("memory", "postgres")
MINUTE = 60

#: what a repeat of a create call the gateway may have accepted can meet
REPEAT_ERRORS = {
    "breaker_open": lambda: GatewayUnavailable("circuit open for sandbox", retryable=True, circuit_open=True),
    "key_in_use": lambda: GatewayError("idempotency_key_in_use", http_status=409, repeat_failure=True),
    "key_expired": lambda: GatewayError("charge_already_refunded", http_status=400,
                                        provider_code="charge_already_refunded", repeat_failure=True),
}


async def paid(api, h) -> dict:
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], f"pay-{order['id']}")
    await api.sandbox(payment, "approve")
    return payment


async def refund_of(api, h, refund_id: str) -> dict:
    return await api.json("GET", f"/api/v1/payment/refunds/{refund_id}", h, expect=200)


@pytest.mark.parametrize("error", sorted(REPEAT_ERRORS))
async def test_an_error_on_a_repeat_create_call_never_settles_the_refund(error, clock, api, backend, monkeypatch):
    h = await api.user()
    payment = await paid(api, h)
    sandbox, creates = api.services.sandbox, []
    found = {"refund": None}

    async def create(request):
        creates.append(request.refund_id)
        if len(creates) == 1:
            raise GatewayTimeout("sent, no answer")  # the gateway took it; its answer was lost
        raise REPEAT_ERRORS[error]()

    async def lookup(request):
        return found["refund"]  # the gateway's lists lag: no record of it yet
    monkeypatch.setattr(sandbox, "refund", create)
    monkeypatch.setattr(sandbox, "lookup_refund", lookup)
    refund = await api.refund(h, payment["id"], "r1", amount=1000)
    for _ in range(4):  # lookups at 2, 4, 8 minutes; the create is sent again once 10 minutes passed
        clock.advance(11 * MINUTE)
        await api.services.maintenance.run_once()
        assert (await refund_of(api, h, refund["id"]))["status"] == "pending"
    assert len(creates) >= 2, creates  # the repeat met its error, and settled nothing
    # the amount stays reserved: nothing more than the rest can be asked for
    await api.refund(h, payment["id"], "r2", amount=payment["amount"], expect=422)
    found["refund"] = RefundOutcome(RefundStatus.SUCCEEDED, f"sbr_{refund['id']}")  # the lookup finds it
    clock.advance(6 * 3600)
    await api.services.maintenance.run_once()
    done = await refund_of(api, h, refund["id"])
    assert done["status"] == "succeeded" and done["gateway_refund_id"] == f"sbr_{refund['id']}"
    assert (await api.json("GET", f"/api/v1/payment/orders/{payment['order_id']}", h))["status"] == \
        "partially_refunded"


async def test_an_accepted_refund_is_followed_by_lookups_never_created_again(clock, api, backend, admin, monkeypatch):
    h = await api.user()
    payment = await paid(api, h)
    sandbox, creates, lookups = api.services.sandbox, [], []
    answer = {"outcome": None}

    async def create(request):
        creates.append(request.refund_id)
        return RefundOutcome(RefundStatus.PROCESSING, "sbr_accepted")  # Stripe's "pending"

    async def lookup(request):
        lookups.append(request.gateway_refund_id)
        return answer["outcome"]
    monkeypatch.setattr(sandbox, "refund", create)
    monkeypatch.setattr(sandbox, "lookup_refund", lookup)
    refund = await api.refund(h, payment["id"], "r1", amount=1000)
    assert refund["status"] == "processing"
    for n in range(30):  # 30 hours: past the gateway's 24 h memory of the idempotency key
        # the gateway says nothing final: still pending, then (its lists lag) no record at all
        answer["outcome"] = RefundOutcome(RefundStatus.PROCESSING, "sbr_accepted") if n % 2 else None
        clock.advance(3600)
        await api.services.maintenance.run_once()
    assert creates == [refund["id"]], creates  # one create call, ever
    assert lookups and set(lookups) == {"sbr_accepted"}
    held = await refund_of(api, h, refund["id"])
    assert held["status"] == "processing" and held["needs_attention"], held
    flagged = await api.json("GET", "/api/v1/admin/refunds?needs_attention=true", admin, expect=200)
    assert [r["id"] for r in flagged["results"]] == [refund["id"]]
    metrics = (await api.call("GET", "/metrics"))[1].decode()
    assert 'payport_refunds_needing_attention_total{gateway="sandbox"} 1.0' in metrics
    findings = await api.services.maintenance.reconcile()
    assert [(f.kind, f.subject) for f in findings] == [("refund_needs_attention", refund["id"])]


async def test_a_success_for_a_refund_held_failed_is_recorded_flagged_and_reported(clock, api, backend, admin,
                                                                                   monkeypatch):
    h = await api.user()
    payment = await paid(api, h)
    sandbox, real_refund = api.services.sandbox, api.services.sandbox.refund

    async def refused(request):
        return RefundOutcome(RefundStatus.FAILED, None, "card lost or stolen")
    monkeypatch.setattr(sandbox, "refund", refused)
    first = await api.refund(h, payment["id"], "r1", amount=1000)
    assert first["status"] == "failed"
    monkeypatch.setattr(sandbox, "refund", real_refund)
    rest = await api.refund(h, payment["id"], "r2")  # the freed amount is refunded: the whole remainder
    assert rest["status"] == "succeeded" and rest["amount"] == payment["amount"]
    # the gateway paid the first after all (an attempt it had accepted), and says so
    settled = await api.services.refunds.settle(first["id"], RefundOutcome(RefundStatus.SUCCEEDED, "re_late"))
    assert settled.status is RefundStatus.SUCCEEDED and settled.needs_attention
    detail = await api.json("GET", f"/api/v1/admin/payments/{payment['id']}", admin, expect=200)
    ledger = sorted(row["amount"] for row in detail["ledger"] if row["type"] == "refund")
    assert ledger == sorted([1000, payment["amount"]])  # what left is in the ledger, above captured
    metrics = (await api.call("GET", "/metrics"))[1].decode()
    assert 'payport_refunds_needing_attention_total{gateway="sandbox"} 1.0' in metrics
    findings = {(f.kind, f.subject) for f in await api.services.maintenance.reconcile()}
    assert findings == {("refund_needs_attention", first["id"]), ("refunds_above_captured", payment["id"])}
