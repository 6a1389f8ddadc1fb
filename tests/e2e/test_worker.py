"""The worker's jobs and the reconciler, on the embedded default with a clock the test moves."""
from __future__ import annotations

from application.errors import GatewayTimeout
from domain.orders import OrderStatus
from domain.payments import PaymentStatus, RefundStatus, TransactionType
from tests.e2e.api import count_sandbox_payouts, forget_idempotency_records

HOUR = 3600


async def services(api):
    from entrypoints.http.keys import SERVICES
    return api.client.server.app[SERVICES]


async def test_an_abandoned_payment_expires_and_the_order_can_be_paid_again(clock, api):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k1")
    s = await services(api)
    await s.maintenance.run_once()
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "requires_action"
    clock.advance(HOUR)
    await s.maintenance.run_once()
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "expired"
    again = await api.initiate(h, order["id"], "k2")
    assert again["status"] == "requires_action"


async def test_a_payment_made_at_the_last_second_is_recorded_not_expired(clock, api, container):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k1")
    await api.services.sandbox.settle(payment["reference"], approve=True)  # paid; webhook and redirect lost
    clock.advance(HOUR)
    s = await services(api)
    await s.maintenance.run_once()
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "succeeded"
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "paid"


async def test_a_refund_that_timed_out_is_completed_by_the_worker(clock, api, container, monkeypatch):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k1")
    await api.sandbox(payment, "approve")
    sandbox = api.services.sandbox
    real_refund = sandbox.refund

    async def timeout(request):
        raise GatewayTimeout("sent, no answer")
    monkeypatch.setattr(sandbox, "refund", timeout)
    pending = await api.refund(h, payment["id"], "r1", amount=1000)
    assert pending["status"] == "pending"
    # the reservation holds: the remainder is all that can still be asked for
    over = await api.refund(h, payment["id"], "r2", amount=payment["amount"], expect=422)
    assert over["refundable"] == payment["amount"] - 1000
    monkeypatch.setattr(sandbox, "refund", real_refund)
    clock.advance(HOUR)
    await (await services(api)).maintenance.run_once()
    done = await api.json("GET", f"/api/v1/payment/refunds/{pending['id']}", h)
    assert done["status"] == RefundStatus.SUCCEEDED.value
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "partially_refunded"


async def test_reconcile_finds_and_repairs_a_missing_ledger_row(clock, api, container):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k1")
    await api.sandbox(payment, "approve")
    s = await services(api)
    assert await s.maintenance.reconcile() == []
    store = container.storage.memory_store()
    store.ledger[:] = [t for t in store.ledger if t.payment_id != payment["id"]]  # a lost write
    findings = await s.maintenance.reconcile()
    assert [(f.kind, f.subject, f.repaired) for f in findings] == [("ledger_mismatch", payment["id"], False)]
    repaired = await s.maintenance.reconcile(repair=True)
    assert repaired[0].repaired
    assert await s.maintenance.reconcile() == []
    ledger = [t for t in store.ledger if t.payment_id == payment["id"]]
    assert [(t.type, t.amount) for t in ledger] == [(TransactionType.PAYMENT, order["total"])]


async def test_reconcile_applies_a_processed_success_webhook_the_payment_missed(clock, api, container):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k1")
    await api.sandbox(payment, "approve")
    store = container.storage.memory_store()
    # simulate a lost settlement transaction: the webhook is processed, the payment write is not
    stored = store.tables["payments"][payment["id"]]
    stored.status, stored.captured_amount = PaymentStatus.PROCESSING, 0
    store.tables["orders"][order["id"]].status = OrderStatus.PENDING
    store.ledger[:] = [t for t in store.ledger if t.payment_id != payment["id"]]
    findings = await (await services(api)).maintenance.reconcile(repair=True)
    assert [(f.kind, f.repaired) for f in findings] == [("success_webhook_not_applied", True)]
    assert store.tables["payments"][payment["id"]].status is PaymentStatus.SUCCEEDED
    assert len([t for t in store.ledger if t.payment_id == payment["id"]]) == 1
    assert await (await services(api)).maintenance.reconcile() == []


async def test_failed_webhook_processing_is_visible_and_retried(clock, api, admin, monkeypatch):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k1")
    s = await services(api)

    async def broken(reference, report, **options):
        raise ConnectionResetError("database went away mid-settlement")
    monkeypatch.setattr(s.settlement, "apply", broken)
    _, headers, body = await api.services.sandbox.settle(payment["reference"], approve=True)
    answer = await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=200)
    assert answer["status"] == "failed"  # stored and acknowledged: the gateway need not resend
    failed = await api.json("GET", "/api/v1/admin/webhooks/failed", admin, expect=200)
    assert [(w["reference"], w["attempts"]) for w in failed["results"]] == [(payment["reference"], 1)]
    assert "ConnectionResetError" in failed["results"][0]["last_error"]
    metrics = (await api.call("GET", "/metrics"))[1].decode()
    assert 'payport_webhooks_total{gateway="sandbox",outcome="failed"} 1.0' in metrics

    monkeypatch.undo()
    await s.maintenance.run_once()  # a failed row waits out its backoff before it is tried again
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "requires_action"
    clock.advance(31)
    await s.maintenance.run_once()
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "succeeded"
    assert (await api.json("GET", "/api/v1/admin/webhooks/failed", admin))["results"] == []
    assert (await api.json("GET", "/api/v1/admin/reconciliation", admin, expect=200))["findings"] == []


async def test_a_refund_retried_after_a_crash_is_the_same_refund_not_a_second_payout(clock, api, monkeypatch):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k1")
    await api.sandbox(payment, "approve")
    payouts = count_sandbox_payouts(api, monkeypatch)
    first = await api.refund(h, payment["id"], "refund-key", amount=1000)
    # the process dies after the payout, before the response is stored: the key's record is lost
    await forget_idempotency_records(api.services)
    again = await api.refund(h, payment["id"], "refund-key", amount=1000)
    assert again["id"] == first["id"] and again["status"] == "succeeded"
    assert payouts == [first["id"]]
    listed = await api.json("GET", f"/api/v1/payment/refunds?payment_id={payment['id']}", h)
    assert [r["id"] for r in listed["results"]] == [first["id"]]
    other = await api.json("POST", "/api/v1/payment/refunds", {**h, "Idempotency-Key": "refund-key"}, expect=None,
                           json={"payment_id": payment["id"], "amount": 5, "reason": "other"})
    assert other["code"] == "idempotency_key_reused"  # same key, different request: refused, nothing paid


async def test_a_payment_webhook_is_stored_then_settled_and_marked_in_one_more_transaction(clock, api, container):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k1")
    store = container.storage.memory_store()
    before = store.commits
    _, headers, body = await api.services.sandbox.settle(payment["reference"], approve=True)
    answer = await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=200)
    assert answer["status"] == "processed"
    # 1: the inbox row; 2: payment, order, ledger, the PAYMENT_COMPLETED notice and the inbox row's status
    assert store.commits - before == 2
    [entry] = [w for w in store.tables["webhooks"].values() if w.reference == payment["reference"]]
    assert entry.status.value == "processed" and entry.attempts == 1
    notes = await api.json("GET", "/api/v1/notifications", h)
    assert "payment_completed" in [n["kind"] for n in notes["results"]]


async def test_a_payment_the_worker_cannot_settle_does_not_stop_the_others(clock, api, monkeypatch):
    h = await api.user()
    poison = await api.initiate(h, (await api.order(h, ship_to=None))["id"], "k1")
    healthy = await api.initiate(h, (await api.order(h, ship_to=None))["id"], "k2")
    s = await services(api)
    real_verify = s.settlement.verify

    async def verify(payment, hint=None):
        if payment.id == poison["id"]:
            raise KeyError("a row the worker cannot read")  # not a gateway error: today it aborted the pass
        return await real_verify(payment, hint)
    monkeypatch.setattr(s.settlement, "verify", verify)
    clock.advance(HOUR)
    assert await s.maintenance.settle_open_payments(100) == 1
    assert (await api.json("GET", f"/api/v1/payment/payments/{healthy['id']}", h))["status"] == "expired"
    assert (await api.json("GET", f"/api/v1/payment/payments/{poison['id']}", h))["status"] == "requires_action"


async def test_a_refund_the_worker_cannot_resume_does_not_stop_the_others(clock, api, monkeypatch):
    h = await api.user()
    sandbox = api.services.sandbox
    real_refund = sandbox.refund
    refunds = []
    for key in ("k1", "k2"):
        payment = await api.initiate(h, (await api.order(h, ship_to=None))["id"], key)
        await api.sandbox(payment, "approve")

        async def timeout(request):
            raise GatewayTimeout("sent, no answer")
        monkeypatch.setattr(sandbox, "refund", timeout)
        refunds.append(await api.refund(h, payment["id"], f"r-{key}", amount=1000))
        monkeypatch.setattr(sandbox, "refund", real_refund)
    s = await services(api)
    real_resume = s.refunds.resume

    async def resume(refund_id):
        if refund_id == refunds[0]["id"]:
            raise RuntimeError("poison")
        return await real_resume(refund_id)
    monkeypatch.setattr(s.refunds, "resume", resume)
    clock.advance(HOUR)
    assert await s.maintenance.retry_pending_refunds(100) == 2  # attempted
    statuses = [(await api.json("GET", f"/api/v1/payment/refunds/{r['id']}", h))["status"] for r in refunds]
    assert statuses == ["pending", "succeeded"]


async def test_a_webhook_whose_processing_raises_does_not_stop_the_others(clock, api, monkeypatch):
    h = await api.user()
    payments = [await api.initiate(h, (await api.order(h, ship_to=None))["id"], key) for key in ("k1", "k2")]
    s = await services(api)

    async def broken(reference, report, **options):
        raise ConnectionResetError("database went away mid-settlement")
    monkeypatch.setattr(s.settlement, "apply", broken)
    for payment in payments:
        _, headers, body = await api.services.sandbox.settle(payment["reference"], approve=True)
        await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=200)
    monkeypatch.undo()
    failed = (await api.json("GET", "/api/v1/admin/webhooks/failed", await admin_headers(api)))["results"]
    poison = next(w["id"] for w in failed if w["reference"] == payments[0]["reference"])
    real_process = s.webhooks.process

    async def process(webhook_id, entry=None):
        if webhook_id == poison:
            raise RuntimeError("the inbox row cannot be marked")  # raised past process's own handling
        return await real_process(webhook_id, entry)
    monkeypatch.setattr(s.webhooks, "process", process)
    clock.advance(31)  # past the first failure's backoff
    assert await s.webhooks.process_pending(100) == 2
    assert [(await api.json("GET", f"/api/v1/payment/payments/{p['id']}", h))["status"] for p in payments] == [
        "requires_action", "succeeded"]


async def admin_headers(api) -> dict:
    tokens = await api.json("POST", "/api/v1/auth/login",
                            json={"email": "admin@example.com", "password": "admin-password-1"}, expect=200)
    return {"Authorization": f"Bearer {tokens['access']}"}


async def test_reconcile_reports_a_check_that_failed_and_checks_the_rest(clock, api, container, monkeypatch):
    h = await api.user()
    store = container.storage.memory_store()
    payments = []
    for key in ("k1", "k2"):
        order = await api.order(h, ship_to=None)
        payment = await api.initiate(h, order["id"], key)
        await api.sandbox(payment, "approve")
        stored = store.tables["payments"][payment["id"]]  # a lost settlement transaction, as above
        stored.status, stored.captured_amount = PaymentStatus.PROCESSING, 0
        store.tables["orders"][order["id"]].status = OrderStatus.PENDING
        store.ledger[:] = [t for t in store.ledger if t.payment_id != payment["id"]]
        payments.append(payment)
    s = await services(api)
    real = s.settlement.verify_and_apply

    async def verify_and_apply(reference, within=None, **options):
        if reference == payments[0]["reference"]:
            raise RuntimeError("gateway answered nonsense")
        return await real(reference, within, **options)
    monkeypatch.setattr(s.settlement, "verify_and_apply", verify_and_apply)
    findings = await s.maintenance.reconcile(repair=True)
    by_kind = sorted((f.kind, f.repaired) for f in findings)
    assert by_kind == [("check_failed", False), ("success_webhook_not_applied", True)]
    assert store.tables["payments"][payments[1]["id"]].status is PaymentStatus.SUCCEEDED


async def test_an_unpaid_order_gives_its_stock_back_after_its_window(clock, api):
    """Unpaid orders do not hold stock for ever: past PAYPORT_ORDER_PENDING_MINUTES (60) a pending
    order fails and its stock returns; one with a live payment waits for that payment's expiry."""
    h = await api.user()
    stock = lambda: api.json("GET", "/api/v1/products?search=NG-RICE-5KG")  # noqa: E731
    before = (await stock())["results"][0]["stock"]
    idle = await api.order(h, ship_to=None)                      # 2 bags, never paid for
    paying = await api.order(h, ship_to=None)
    payment = await api.initiate(h, paying["id"], "k1")
    assert (await stock())["results"][0]["stock"] == before - 4
    s = await services(api)
    clock.advance(59 * 60)
    assert await s.orders.expire_stale() == 0                    # not yet
    clock.advance(2 * 60)
    assert await s.orders.expire_stale() == 1                    # the idle one; the other has a live payment
    assert (await api.json("GET", f"/api/v1/payment/orders/{idle['id']}", h))["status"] == "failed"
    assert (await api.json("GET", f"/api/v1/payment/orders/{paying['id']}", h))["status"] == "pending"
    assert (await stock())["results"][0]["stock"] == before - 2
    await s.maintenance.settle_open_payments(100)                 # its window passed: the payment expires
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "expired"
    assert await s.orders.expire_stale() == 1
    assert (await stock())["results"][0]["stock"] == before
    await api.initiate(h, idle["id"], "k2", expect=409)          # a failed order takes no payment
