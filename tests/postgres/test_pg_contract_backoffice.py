"""The back office's adapters, one contract on memory and Postgres: an order's status history, the
worker's claimed scans, the admin lists' filters and cursors, the fraud rules' counts, the gateway
configuration rows, the record of gateway answers and the analytics aggregates."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs
import pytest

import pg_builders as b
from adapters.memory.backoffice import (
    MemoryAdminReadModel,
    MemoryAnalytics,
    MemoryPaymentConfigStore,
    MemoryVerificationLog,
)
from adapters.memory.fraud import MemoryFraudSignals
from adapters.memory.maintenance import MemoryMaintenanceQueries
from adapters.postgres.backoffice import (
    PostgresAdminReadModel,
    PostgresAnalytics,
    PostgresPaymentConfigStore,
    PostgresVerificationLog,
)
from adapters.postgres.fraud import PostgresFraudSignals
from adapters.postgres.maintenance import PostgresMaintenanceQueries
from application.errors import ConcurrencyConflict
from application.ports.backoffice import AdminFilters, ConfigEntry, FraudAttempt, Verification
from domain.payments import PaymentStatus, TransactionType

LEASE = timedelta(minutes=15)


def adapters(backend):
    if backend.store is not None:
        s = backend.store
        return (MemoryMaintenanceQueries(s), MemoryAdminReadModel(s), MemoryFraudSignals(s),
                MemoryPaymentConfigStore(s), MemoryVerificationLog(s), MemoryAnalytics(s))
    p = backend.pool
    return (PostgresMaintenanceQueries(p), PostgresAdminReadModel(p), PostgresFraudSignals(p),
            PostgresPaymentConfigStore(p), PostgresVerificationLog(p), PostgresAnalytics(p))


# -- the status history ---------------------------------------------------------------------------
async def test_every_move_of_an_order_is_kept_with_who_when_and_why(backend):
    order = b.order("ord_h")
    async with backend.uow() as uow:
        await uow.orders.add(order)
        await uow.commit()
    async with backend.uow() as uow:
        order = await uow.orders.lock("ord_h")
        order.mark_paid(b.at(10), "pay_1")
        await uow.orders.save(order)
        order.start_processing(b.at(20), "usr_admin", carrier="DHL", tracking_number="JD01", note="boxed")
        await uow.orders.save(order)  # saved twice in one unit of work: each entry stored once
        await uow.commit()
    async with backend.uow() as uow:
        order = await uow.orders.lock("ord_h")
        order.complete(b.at(30), "usr_admin")
        await uow.orders.save(order)
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.orders.get("ord_h")
    assert [(h.from_status, h.to_status, h.at, h.by, h.note) for h in stored.status_history] == [
        (None, "pending", b.T0, "usr_1", "placed"),
        ("pending", "paid", b.at(10), "system", "paid by payment pay_1"),
        ("paid", "processing", b.at(20), "usr_admin", "boxed"),
        ("processing", "completed", b.at(30), "usr_admin", None),
    ]
    assert (stored.carrier, stored.tracking_number, stored.completed_at, stored.paid_at) == (
        "DHL", "JD01", b.at(30), b.at(10))


async def test_a_rolled_back_move_leaves_no_history(backend):
    async with backend.uow() as uow:
        await uow.orders.add(b.order("ord_r"))
        await uow.commit()
    async with backend.uow() as uow:
        order = await uow.orders.lock("ord_r")
        order.mark_paid(b.at(1), "pay_1")
        await uow.orders.save(order)  # no commit
    async with backend.uow() as uow:
        assert [h.to_status for h in (await uow.orders.get("ord_r")).status_history] == ["pending"]


# -- claimed scans --------------------------------------------------------------------------------
async def _live_payments(backend, n: int):
    async with backend.uow() as uow:
        for i in range(n):
            order = b.order(f"ord_{i}")
            await uow.orders.add(order)
            await uow.payments.add(b.payment(f"pay_{i}", order_id=order.id))
        await uow.commit()


async def test_a_claimed_payment_is_not_handed_to_another_scan_until_its_lease_ends(backend):
    queries = adapters(backend)[0]
    await _live_payments(backend, 3)
    due = b.at(200)  # every intent's first check (2 minutes) is due
    first = await queries.due_payments(now=due, limit=2)
    second = await queries.due_payments(now=due, limit=10)
    assert [p.id for p in first] == ["pay_0", "pay_1"] and [p.id for p in second] == ["pay_2"]
    assert all(p.next_check_at == due + LEASE for p in first + second)  # what each claim wrote
    assert await queries.due_payments(now=due + LEASE - timedelta(seconds=1), limit=10) == []
    again = await queries.due_payments(now=due + LEASE, limit=10)  # the claimer died: the lease ran out
    assert sorted(p.id for p in again) == ["pay_0", "pay_1", "pay_2"]


async def test_rescheduling_a_claimed_payment_replaces_its_lease(backend):
    queries = adapters(backend)[0]
    await _live_payments(backend, 1)
    [claimed] = await queries.due_payments(now=b.at(200), limit=10)
    async with backend.uow() as uow:
        payment = await uow.payments.lock(claimed.id)
        payment.schedule_check(b.at(200), timedelta(minutes=1))  # what following it does
        await uow.payments.save(payment)
        await uow.commit()
    assert [p.id for p in await queries.due_payments(now=b.at(260), limit=10)] == ["pay_0"]


async def succeeded_payment(uow, order_id: str, payment_id: str):
    """An order and its succeeded payment, added in ``uow``."""
    order, pay = b.order(order_id), b.payment(payment_id, order_id=order_id)
    await uow.orders.add(order)
    b.succeeded(pay, order)
    await uow.payments.add(pay)
    return order, pay


async def test_claimed_refunds_webhooks_and_cancellations(backend):
    queries = adapters(backend)[0]
    async with backend.uow() as uow:
        order, pay = await succeeded_payment(uow, "ord_c", "pay_c")
        refund = b.refund("rfd_c", pay, order, 100)
        refund.sending(b.T0, timedelta(minutes=2))
        await uow.refunds.add(refund)
        order.mark_paid(b.T0, pay.id)
        order.cancel(b.at(1), "changed my mind", by="usr_1")
        await uow.orders.save(order)
        fresh = b.webhook("wh_new", event_id="e1", now=b.at(100))
        failed = b.webhook("wh_failed", event_id="e2", now=b.T0)
        failed.failed(b.at(5), "boom", retry_in=timedelta(seconds=30))
        capped = b.webhook("wh_capped", event_id="e3", now=b.T0)
        capped.attempts = 10
        for hook in (fresh, failed, capped):
            await uow.webhooks.add(hook)
        await uow.commit()
    now = b.at(125)
    assert [r.id for r in await queries.due_refunds(now=now, limit=10)] == ["rfd_c"]
    assert await queries.due_refunds(now=now, limit=10) == []
    hooks = await queries.due_webhooks(now=now, limit=10, max_attempts=10, grace=timedelta(seconds=30))
    assert [w.id for w in hooks] == ["wh_failed"]  # wh_new is in its grace, wh_capped waits for a person
    assert await queries.due_webhooks(now=now, limit=10, max_attempts=10, grace=timedelta(seconds=30)) == []
    later = await queries.due_webhooks(now=b.at(131), limit=10, max_attempts=10, grace=timedelta(seconds=30))
    assert [w.id for w in later] == ["wh_new"]
    assert await queries.due_cancellations(now=b.at(60), limit=10) == []  # due two minutes after it
    [cancelled] = await queries.due_cancellations(now=b.at(121), limit=10)
    assert (cancelled.id, [h.to_status for h in cancelled.status_history]) == (
        "ord_c", ["pending", "paid", "cancelled"])
    assert await queries.due_cancellations(now=b.at(121), limit=10) == []


async def test_two_scans_at_once_share_the_rows_out(pg_backend):
    queries = [PostgresMaintenanceQueries(pg_backend.pool) for _ in range(2)]
    await _live_payments(pg_backend, 20)
    first, second = await asyncio.gather(*(q.due_payments(now=b.at(200), limit=15) for q in queries))
    ids = [p.id for p in first] + [p.id for p in second]
    assert len(ids) == len(set(ids)) == 20


# -- the admin lists ------------------------------------------------------------------------------
async def _walk(list_fn, filters, limit=2):
    ids, cursor = [], None
    while True:
        page = await list_fn(filters, limit=limit, cursor=cursor)
        ids += [row.id for row in page.results]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


async def test_admin_lists_filter_and_page(backend):
    read = adapters(backend)[1]
    async with backend.uow() as uow:
        for n, (owner, currency) in enumerate([("usr_1", "NGN"), ("usr_2", "NGN"), ("usr_1", "NGN"), ("usr_2", "NGN")]):
            order = b.order(f"ord_{n}", owner=owner, now=b.at(10 * n), number=f"PP-N{n}")
            pay = b.payment(f"pay_{n}", order_id=order.id, owner=owner, now=b.at(10 * n))
            pay.gateway = "paystack" if n % 2 else "sandbox"
            await uow.orders.add(order)
            if n < 3:
                b.succeeded(pay, order, b.at(10 * n))
                order.mark_paid(b.at(10 * n), pay.id)
                await uow.orders.save(order)
            await uow.payments.add(pay)
            if n == 0:
                refund = b.refund("rfd_0", pay, order, 100, now=b.at(50))
                refund.flag("look at it", b.at(51))
                await uow.refunds.add(refund)
        await uow.commit()
    every = AdminFilters()
    assert await _walk(read.list_orders, every) == ["ord_3", "ord_2", "ord_1", "ord_0"]
    assert await _walk(read.list_orders, AdminFilters(email="USR_2@example.com")) == ["ord_3", "ord_1"]
    assert await _walk(read.list_orders, AdminFilters(status="paid", gateway="sandbox")) == ["ord_2", "ord_0"]
    assert await _walk(read.list_orders, AdminFilters(order_number="PP-N1")) == ["ord_1"]
    assert await _walk(read.list_orders, AdminFilters(created_from=b.at(10), created_to=b.at(30))) == ["ord_2", "ord_1"]
    assert await _walk(read.list_orders, AdminFilters(currency="USD")) == []
    assert await _walk(read.list_payments, AdminFilters(gateway="paystack")) == ["pay_3", "pay_1"]
    assert await _walk(read.list_payments, AdminFilters(status="succeeded", email="usr_1@example.com")) == [
        "pay_2", "pay_0"]
    assert await _walk(read.list_payments, AdminFilters(order_number="PP-N3")) == ["pay_3"]
    assert await _walk(read.list_refunds, AdminFilters(needs_attention=True, gateway="sandbox")) == ["rfd_0"]
    assert await _walk(read.list_refunds, AdminFilters(status="succeeded")) == []
    assert [p.id for p in await read.payments_of("ord_0")] == ["pay_0"]


async def test_failed_webhooks_and_the_review_queue_page(backend):
    read = adapters(backend)[1]
    async with backend.uow() as uow:
        for n in range(5):
            hook = b.webhook(f"wh_{n}", event_id=f"e{n}", now=b.at(n))
            hook.reference = "ref_x"
            if n != 2:
                hook.failed(b.at(n + 1), f"boom {n}", retry_in=timedelta(seconds=30))
            await uow.webhooks.add(hook)
        for n in range(3):
            order = b.order(f"ord_{n}")
            await uow.orders.add(order)
            pay = b.payment(f"pay_{n}", order_id=order.id)
            pay.hold_for_review("risk rules: amount", b.at(30 - n))
            await uow.payments.add(pay)
        await uow.commit()
    pages, cursor, seen = 0, None, []
    while True:
        page = await read.failed_webhooks(limit=3, cursor=cursor)
        seen += [w.id for w in page.results]
        pages += 1
        if not (cursor := page.next_cursor):
            break
    assert (seen, pages) == (["wh_4", "wh_3", "wh_1", "wh_0"], 2)
    first = await read.held_payments(limit=2, cursor=None)
    rest = await read.held_payments(limit=2, cursor=first.next_cursor)
    assert [p.id for p in first.results + rest.results] == ["pay_2", "pay_1", "pay_0"]  # held longest first
    assert [w.id for w in await read.webhooks_for("ref_x", limit=2)] == ["wh_4", "wh_3"]


# -- the fraud rules' counts ----------------------------------------------------------------------
async def test_fraud_counts_per_identity_and_declines_by_reference(backend):
    signals = adapters(backend)[2]
    async with backend.uow() as uow:
        order = b.order("ord_f")
        await uow.orders.add(order)
        declined = b.payment("pay_d", order_id=order.id, reference="ref_declined")
        declined.fail(order.context(), "card declined", b.at(1))
        await uow.payments.add(declined)
        blocked = b.payment("pay_b", order_id=order.id, reference="ref_blocked")
        blocked.fail(order.context(), "refused by the risk rules: blocklisted", b.at(1))
        await uow.payments.add(blocked)
        await uow.commit()
    for n, (ip, email, ref) in enumerate([("10.0.0.1", "Ada@Example.com", "ref_declined"),
                                          ("10.0.0.1", "ada@example.com", "ref_ok"),
                                          ("10.0.0.2", "bo@example.com", None)]):
        await signals.record(FraudAttempt(id=f"fra_{n}", at=b.at(10 * n), user_id="usr_1", amount=100,
                                          currency="NGN", outcome="allow", reference=ref, email=email, client_ip=ip))
    await signals.record(FraudAttempt(id="fra_g", at=b.at(5), user_id="gst_1", guest_id="gst_1", amount=100,
                                      currency="NGN", outcome="block", reasons=("blocklisted",), reference="ref_blocked"))
    counts = await signals.counts({"user": "usr_1", "email": "ada@example.com", "ip": "10.0.0.1", "guest": "gst_1"},
                                  {"user": b.at(10), "email": b.T0, "ip": b.T0, "guest": b.T0})
    # the guest's blocked attempt failed its intent, but a block is not a decline (the gateway's are)
    assert counts == {"user": (2, 0), "email": (2, 1), "ip": (2, 1), "guest": (1, 0)}
    assert await signals.reap(b.at(10)) == 2
    assert (await signals.counts({"user": "usr_1"}, {"user": b.T0}))["user"] == (2, 0)


# -- gateway configuration and what gateways said -------------------------------------------------
async def test_the_gateway_configuration_is_versioned(backend):
    store = adapters(backend)[3]
    assert await store.get("paystack") is None
    first = ConfigEntry("paystack", {"enabled": False, "limits": {"NGN": {"max": 100}}}, 1, b.T0, "usr_admin")
    await store.save(first)
    assert await store.get("paystack") == first
    with pytest.raises(ConcurrencyConflict):
        await store.save(ConfigEntry("paystack", {"enabled": True}, 1, b.at(1), "usr_other"))  # read before first
    with pytest.raises(ConcurrencyConflict):
        await store.save(ConfigEntry("paystack", {"enabled": True}, 3, b.at(1), "usr_other"))
    second = ConfigEntry("paystack", {"enabled": True, "limits": {}}, 2, b.at(2), "usr_admin")
    await store.save(second)
    assert await store.get("paystack") == second


async def test_gateway_answers_are_listed_newest_first(backend):
    log, read = adapters(backend)[4], adapters(backend)[1]
    for n, status in enumerate(["processing", "succeeded"]):
        await log.record(Verification("ref_1", "sandbox", "verify", b.at(n), True, status, status.upper(), 4800,
                                      "NGN", "gw_1", "card" if n else None, None))
    await log.record(Verification("ref_2", "sandbox", "expire", b.at(9), False, "expired", "gone", None, None,
                                  None, None, "no such payment"))
    found = await read.verifications("ref_1")
    assert [(v.status, v.payment_method, v.at) for v in found] == [("succeeded", "card", b.at(1)),
                                                                  ("processing", None, b.T0)]


# -- analytics ------------------------------------------------------------------------------------
async def test_the_analytics_aggregates(backend):
    analytics = adapters(backend)[5]
    async with backend.uow() as uow:
        for n in range(3):
            order = b.order(f"ord_{n}", now=b.at(86400 * n))
            await uow.orders.add(order)
            pay = b.payment(f"pay_{n}", order_id=order.id, now=b.at(86400 * n))
            if n < 2:
                b.succeeded(pay, order, b.at(86400 * n))
                order.mark_paid(b.at(86400 * n), pay.id)
                await uow.orders.save(order)
            else:
                pay.fail(order.context(), "declined", b.at(86400 * n))
            await uow.payments.add(pay)
            if n < 2:
                await uow.ledger.append(attrs.evolve(b.transaction(f"txn_{n}", pay), processed_at=b.at(86400 * n)))
        refund = b.refund("rfd_0", await uow.payments.get("pay_0"), await uow.orders.get("ord_0"), 1000,
                          now=b.at(3600))
        await uow.refunds.add(refund)
        await uow.ledger.append(b.transaction("txn_r", await uow.payments.get("pay_0"), type=TransactionType.REFUND,
                                              refund_id="rfd_0"))
        await uow.commit()
    rows = await analytics.rows(b.T0, b.at(3 * 86400))
    assert sorted(rows.captured) == [(b.T0.date(), "NGN", "sandbox", 4800, 1),
                                     ((b.T0 + timedelta(days=1)).date(), "NGN", "sandbox", 4800, 1)]
    assert rows.refunded == [(b.T0.date(), "NGN", "sandbox", 4800, 1)]  # the builder's refund row is 4800
    assert rows.outcomes == {PaymentStatus.SUCCEEDED.value: 2, PaymentStatus.FAILED.value: 1}
    assert rows.orders == {"paid": 2, "pending": 1}
    assert rows.paid_orders == [("NGN", 2, 9600)]
    assert rows.products == [("TEE-1", "Shirt", "NGN", 4, 6000), ("CAP-1", "Cap", "NGN", 2, 2000)]
    assert (await analytics.rows(b.at(2 * 86400), b.at(3 * 86400))).captured == []



async def test_a_refund_never_scheduled_is_due_from_its_creation(backend):
    """A pending refund with no next look (written before refunds were scheduled, or by a writer that
    forgot) is due on every backend, never invisible to the worker: before the fix Postgres skipped
    it (``next_attempt_at <= now`` is never true of NULL) while memory took it."""
    queries = adapters(backend)[0]
    async with backend.uow() as uow:
        order, pay = await succeeded_payment(uow, "ord_n", "pay_n")
        await uow.refunds.add(b.refund("rfd_n", pay, order, 100))  # next_attempt_at None
        await uow.commit()
    assert [r.id for r in await queries.due_refunds(now=b.at(1), limit=10)] == ["rfd_n"]
    assert await queries.due_refunds(now=b.at(1), limit=10) == []  # claimed: leased to this worker
