"""Postgres-only: the schema refuses bad rows even from raw SQL (double charges, negative money...)."""
from __future__ import annotations

import psycopg2
import psycopg2.errors as pge
import pytest

import pg_builders as b

_INTENT = ("INSERT INTO payment_intents (id, order_id, owner_id, amount, currency, gateway, reference, status, "
           "created_at, updated_at, expires_at, gateway_reference) VALUES ")
_NOW = "now(), now(), now()"
_WEBHOOK = ("INSERT INTO webhook_events (id, gateway, event_id, type, payload, signature_ok, status, received_at) "
            "VALUES ")
_REFUND = ("INSERT INTO refunds (id, payment_id, order_id, owner_id, amount, currency, reason, status, created_at, "
           "updated_at) VALUES ")
_TXN = ("INSERT INTO transactions (id, payment_id, order_id, type, amount, currency, status, gateway, "
        "processed_at, refund_id) VALUES ")

REJECTED = {
    "negative intent amount": (pge.CheckViolation, _INTENT +
                               f"('p9', 'ord_2', 'u', -1, 'NGN', 'sandbox', 'r9', 'failed', {_NOW}, NULL)"),
    "unknown intent status": (pge.CheckViolation, _INTENT +
                              f"('p9', 'ord_2', 'u', 100, 'NGN', 'sandbox', 'r9', 'paid', {_NOW}, NULL)"),
    "second active intent": (pge.UniqueViolation, _INTENT +
                             f"('p9', 'ord_1', 'u', 100, 'NGN', 'sandbox', 'r9', 'requires_action', {_NOW}, NULL)"),
    "duplicate payment reference": (pge.UniqueViolation, _INTENT +
                                    f"('p9', 'ord_2', 'u', 100, 'NGN', 'sandbox', 'ref_paid', 'failed', {_NOW}, NULL)"),
    "duplicate gateway reference": (pge.UniqueViolation, _INTENT + "('p9', 'ord_2', 'u', 100, 'NGN', "
                                    f"'sandbox', 'r9', 'failed', {_NOW}, 'gw_pay_paid')"),
    "duplicate webhook event": (pge.UniqueViolation, _WEBHOOK +
                                "('wh_9', 'sandbox', 'evt_1', 't', '{}', true, 'received', now())"),
    "unknown webhook status": (pge.CheckViolation, _WEBHOOK +
                               "('wh_9', 'sandbox', 'evt_9', 't', '{}', true, 'done', now())"),
    "negative stock": (pge.CheckViolation, "UPDATE products SET stock = -1"),
    "negative order total": (pge.CheckViolation, "UPDATE orders SET total = -5 WHERE id = 'ord_1'"),
    "unknown order status": (pge.CheckViolation, "UPDATE orders SET status = 'shipped' WHERE id = 'ord_1'"),
    "second order for a checkout": (pge.UniqueViolation, "UPDATE orders SET checkout_id = 'chk_1' WHERE id = 'ord_2'"),
    "user email differing in case": (pge.UniqueViolation, "INSERT INTO users VALUES "
                                     "('usr_9', 'ADA@example.com', 'x', 'h', 'customer', now())"),
    "refund above captured": (pge.CheckViolation, _REFUND +
                              "('rf_9', 'pay_paid', 'ord_paid', 'u', 4801, 'NGN', 'r', 'pending', now(), now())"),
    "second capture in the ledger": (pge.UniqueViolation, _TXN +
                                     "('t9', 'pay_paid', 'ord_paid', 'payment', 4800, 'NGN', 'succeeded', "
                                     "'sandbox', now(), NULL)"),
    "negative ledger amount": (pge.CheckViolation, _TXN + "('t9', 'pay_paid', 'ord_paid', 'payment', -1, "
                               "'NGN', 'failed', 'sandbox', now(), NULL)"),
    "ledger rows are never updated": (pge.IntegrityConstraintViolation, "UPDATE transactions SET amount = 1"),
    "ledger rows are never deleted": (pge.IntegrityConstraintViolation, "DELETE FROM transactions"),
    "duplicate idempotency key": (pge.UniqueViolation, "INSERT INTO idempotency_keys (scope, key, fingerprint, "
                                  "created_at) VALUES ('usr_1', 'k1', 'other', now())"),
    "duplicate notification event": (pge.UniqueViolation, "INSERT INTO notifications VALUES "
                                     "('n9', 'usr_1', 'k', 't', 'b', now(), false, 'evt:1')"),
}


@pytest.fixture
async def seeded(pg_backend):
    async with pg_backend.uow() as uow:
        await uow.users.add(b.user())
        await uow.products.add(b.product())
        for order_id in ("ord_1", "ord_2", "ord_paid"):
            await uow.orders.add(b.order(order_id, checkout_id=f"chk_{order_id[-1]}"))
        await uow.payments.add(b.payment("pay_1", order_id="ord_1"))
        paid_order = b.order("ord_paid")
        paid = b.payment("pay_paid", order_id="ord_paid", reference="ref_paid")
        await uow.payments.add(b.succeeded(paid, paid_order))
        await uow.ledger.append(b.transaction("txn_1", paid))
        await uow.webhooks.add(b.webhook(event_id="evt_1"))
        await uow.notifications.add(b.notification(event_key="evt:1"))
        await uow.commit()
    await pg_backend.idempotency.begin("usr_1", "k1", "fp", 30)
    return pg_backend


@pytest.mark.parametrize("case", sorted(REJECTED))
async def test_the_schema_rejects(seeded, case):
    error, sql = REJECTED[case]
    async with seeded.pool.acquire() as conn, conn.cursor() as cur:
        with pytest.raises(error):
            await cur.execute(sql)


async def test_the_ledger_may_be_marked_reconciled_and_refunds_up_to_captured_pass(seeded):
    async with seeded.pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute("UPDATE transactions SET reconciled = true")
        await cur.execute(_REFUND + "('rf_1', 'pay_paid', 'ord_paid', 'u', 4000, 'NGN', 'r', 'pending', now(), now())")
        await cur.execute(_REFUND + "('rf_2', 'pay_paid', 'ord_paid', 'u', 800, 'NGN', 'r', 'pending', now(), now())")
        await cur.execute("UPDATE refunds SET status = 'failed' WHERE id = 'rf_2'")
        await cur.execute(_REFUND + "('rf_3', 'pay_paid', 'ord_paid', 'u', 800, 'NGN', 'r', 'pending', now(), now())")
        with pytest.raises(psycopg2.errors.CheckViolation):
            await cur.execute("UPDATE refunds SET status = 'pending' WHERE id = 'rf_2'")


@pytest.mark.parametrize("case", sorted(REJECTED))
async def test_no_refusal_of_the_schema_escapes_as_a_raw_driver_error(seeded, case):
    """Through ``db.run`` (every repository's path) each refusal is an application error the HTTP
    layer answers as problem+json (issue 13: no raw driver error escapes a repository)."""
    from adapters.postgres import db
    from application.errors import AlreadyExists, ConstraintViolated
    from domain.errors import Failure, RefundExceedsCaptured

    error, sql = REJECTED[case]
    expected = {pge.UniqueViolation: AlreadyExists, pge.CheckViolation: ConstraintViolated,
                pge.IntegrityConstraintViolation: ConstraintViolated}[error]
    if case == "refund above captured":
        expected = RefundExceedsCaptured
    async with seeded.pool.acquire() as conn, conn.cursor() as cur:
        with pytest.raises(Failure) as raised:
            await db.run(cur, sql)
    assert type(raised.value) is expected, (case, raised.value)
    assert not isinstance(raised.value, psycopg2.Error)
