"""Repository contract: get/lock/add/save and the AlreadyExists cases, on memory and Postgres."""
from __future__ import annotations

import attrs
import pytest

import pg_builders as b
from application.errors import AlreadyExists
from domain.payments import PaymentStatus, RefundAmounts, RefundStatus, TransactionStatus, TransactionType
from domain.webhooks import WebhookStatus


async def _committed(backend, *objs) -> None:
    async with backend.uow() as uow:
        for obj in objs:
            repo = {"Order": uow.orders, "PaymentIntent": uow.payments, "Refund": uow.refunds,
                    "Product": uow.products, "User": uow.users, "Coupon": uow.coupons}[type(obj).__name__]
            await repo.add(obj)
        await uow.commit()


async def test_users_by_id_and_case_insensitive_email(backend):
    await _committed(backend, b.user(email="Ada@Example.com"))
    async with backend.uow() as uow:
        assert (await uow.users.get("usr_1")) == b.user(email="Ada@Example.com")
        assert (await uow.users.get_by_email("ADA@example.COM")).id == "usr_1"
        assert await uow.users.get_by_email("other@example.com") is None
        with pytest.raises(AlreadyExists) as caught:
            await uow.users.add(b.user("usr_2", email="ada@EXAMPLE.com"))
        assert caught.value.details.get("field") == "email"
        await uow.users.add(b.user("usr_3", email="grace@example.com"))  # still usable
        await uow.commit()
    async with backend.uow() as uow:
        assert (await uow.users.get("usr_3")).email == "grace@example.com"
        assert await uow.users.get("usr_2") is None


async def test_products_skus_locks_and_saves(backend):
    await _committed(backend, b.product("TEE-1"), b.product("CAP-1"))
    async with backend.uow() as uow:
        assert (await uow.products.get("prd_TEE-1")) == b.product("TEE-1")
        assert set(await uow.products.get_by_skus(["TEE-1", "CAP-1", "NOPE"])) == {"TEE-1", "CAP-1"}
        locked = await uow.products.lock_by_skus(["CAP-1", "TEE-1"])
        locked["TEE-1"].take_stock(3)
        await uow.products.save(locked["TEE-1"])
        with pytest.raises(AlreadyExists):
            await uow.products.add(b.product("TEE-1", id="prd_other"))
        await uow.commit()
    async with backend.uow() as uow:
        tee = await uow.products.get("prd_TEE-1")
        assert (tee.stock, tee.version) == (7, 1)
        assert await uow.products.get("prd_other") is None


async def test_categories_are_upserted(backend):
    async with backend.uow() as uow:
        await uow.products.add_category(b.category("tees"))
        await uow.products.add_category(b.category("caps"))
        await uow.commit()
    async with backend.uow() as uow:
        await uow.products.add_category(type(b.category())("tees", "T-shirts"))
        await uow.commit()
    assert [(c.slug, c.name) for c in await backend.read_model.list_categories()] == [
        ("caps", "Caps"), ("tees", "T-shirts")]


async def test_coupons_by_code_any_case(backend):
    await _committed(backend, b.coupon("Welcome10"))
    async with backend.uow() as uow:
        coupon = await uow.coupons.lock("WELCOME10")
        assert coupon == b.coupon("Welcome10")
        assert (await uow.coupons.get("welcome10")) is coupon
        coupon.uses += 1
        await uow.coupons.save(coupon)
        with pytest.raises(AlreadyExists):
            await uow.coupons.add(b.coupon("WELCOME10"))
        await uow.commit()
    async with backend.uow() as uow:
        assert (await uow.coupons.get("welcome10")).uses == 1
        assert await uow.coupons.get("OTHER") is None


async def test_orders_round_trip_and_one_order_per_checkout(backend):
    original = b.order(checkout_id="chk_1", workspace_id="ws_1")
    await _committed(backend, original)
    async with backend.uow() as uow:
        loaded = await uow.orders.get("ord_1")
        assert loaded == original and loaded.items == original.items
        assert (await uow.orders.get_by_checkout("chk_1")) is loaded
        with pytest.raises(AlreadyExists) as caught:
            await uow.orders.add(b.order("ord_2", checkout_id="chk_1"))
        assert caught.value.details == {"checkout_id": "chk_1"}
        assert (await uow.orders.get_by_checkout("chk_1")).id == "ord_1"  # the unit of work goes on
        await uow.orders.add(b.order("ord_3", checkout_id="chk_3"))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.orders.get("ord_2") is None
        assert (await uow.orders.get("ord_3")).checkout_id == "chk_3"


async def test_an_orders_event_context_is_read_from_its_row_or_the_one_held(backend):
    original = b.order(workspace_id="ws_1")
    await _committed(backend, original)
    async with backend.uow() as uow:
        assert await uow.orders.context("ord_1") == original.context()
        assert await uow.orders.context("nope") is None
        held = await uow.orders.lock("ord_1")
        held.customer_name = "changed here"
        assert (await uow.orders.context("ord_1")).user_name == "changed here"


async def test_payments_reference_and_one_active_intent_per_order(backend):
    await _committed(backend, b.order(), b.payment("pay_1", reference="ref_A"))
    async with backend.uow() as uow:
        pay = await uow.payments.get_by_reference("ref_A")
        assert pay == b.payment("pay_1", reference="ref_A")
        assert (await uow.payments.lock_by_reference("ref_A")) is pay
        assert (await uow.payments.active_for_order("ord_1")) is pay
        assert await uow.payments.by_reference_or_active("ref_A", "ord_1") == (pay, pay)
        assert await uow.payments.by_reference_or_active("ref_Z", "ord_1") == (None, pay)
        assert await uow.payments.by_reference_or_active("ref_A", "ord_9") == (pay, None)
        with pytest.raises(AlreadyExists) as caught:
            await uow.payments.add(b.payment("pay_2", order_id="ord_1", reference="ref_A"))
        assert caught.value.details == {"reference": "ref_A"}
        with pytest.raises(AlreadyExists) as caught:
            await uow.payments.add(b.payment("pay_3", order_id="ord_1", reference="ref_B"))
        assert caught.value.details == {"order_id": "ord_1"}
        pay.fail(b.order().context(), "declined", b.at(1))
        await uow.payments.save(pay)
        await uow.payments.add(b.payment("pay_4", order_id="ord_1", reference="ref_C"))
        await uow.commit()
    async with backend.uow() as uow:
        assert (await uow.payments.lock("pay_1")).status is PaymentStatus.FAILED
        assert (await uow.payments.active_for_order("ord_1")).id == "pay_4"
        assert [p and p.id for p in await uow.payments.by_reference_or_active("ref_A", "ord_1")] == ["pay_1", "pay_4"]
        assert await uow.payments.get("pay_3") is None


async def test_refunds_and_ledger(backend):
    order = b.order()
    pay = b.succeeded(b.payment(), order)
    await _committed(backend, order, pay)
    async with backend.uow() as uow:
        pay = await uow.payments.lock("pay_1")
        first = b.refund("ref_1", pay, order, 1000)
        await uow.refunds.add(first)
        second = b.refund("ref_2", pay, order, 800, now=b.at(1), existing=(first,))
        await uow.refunds.add(second)
        with pytest.raises(AlreadyExists):
            await uow.refunds.add(b.refund("ref_1", pay, order, 1))
        await uow.ledger.append(b.transaction("txn_1", pay))
        await uow.commit()
    async with backend.uow() as uow:
        refund = await uow.refunds.lock("ref_1")
        assert refund == b.refund("ref_1", pay, order, 1000)
        assert [r.id for r in sorted(await uow.refunds.for_payment("pay_1"), key=lambda r: r.id)] == ["ref_1", "ref_2"]
        refund.mark_processing("gw_rf_1", b.at(2))
        await uow.refunds.save(refund)
        await uow.ledger.append(b.transaction("txn_2", pay, type=TransactionType.REFUND, refund_id="ref_1",
                                              status=TransactionStatus.PENDING))
        await uow.commit()
    async with backend.uow() as uow:
        assert (await uow.refunds.get("ref_1")).status is RefundStatus.PROCESSING
        ledger = await uow.ledger.for_payment("pay_1")
        assert [t.id for t in ledger] == ["txn_1", "txn_2"]
        assert ledger[0] == b.transaction("txn_1", pay)
        assert await uow.ledger.for_payment("nope") == []


async def test_a_second_capture_in_the_ledger_is_refused_and_keeps_nothing_of_its_unit_of_work(backend):
    order = b.order()
    pay = b.succeeded(b.payment(), order)
    await _committed(backend, order, pay)
    async with backend.uow() as uow:
        await uow.ledger.append(b.transaction("txn_1", pay))
        await uow.commit()
    with pytest.raises(AlreadyExists):
        async with backend.uow() as uow:
            order = await uow.orders.lock("ord_1")
            order.customer_name = "not kept"
            await uow.orders.save(order)
            await uow.ledger.append(b.transaction("txn_2", pay))  # the payment's second capture
            await uow.payments.get("pay_1")
            await uow.commit()
    async with backend.uow() as uow:
        assert [t.id for t in await uow.ledger.for_payment("pay_1")] == ["txn_1"]
        assert (await uow.orders.get("ord_1")).customer_name == b.order().customer_name


async def test_refund_amounts_sum_what_for_payment_lists(backend):
    """``amounts`` adds up the payment's refunds by status (failed ones reserve nothing), sees the
    unit of work's own uncommitted writes, leaves out the one it is told to, and matches what
    ``for_payment`` lists, summed in Python."""
    order = b.order()
    pay = b.succeeded(b.payment(), order)
    other = b.succeeded(b.payment("pay_2", order_id="ord_1", reference="ref_B"), order)
    await _committed(backend, order, pay)
    async with backend.uow() as uow:
        assert await uow.refunds.amounts("pay_1") == RefundAmounts(0, 0)
        pay = await uow.payments.lock("pay_1")
        done, failed, pending = (b.refund(f"ref_{i}", pay, order, amount, now=b.at(i))
                                 for i, amount in ((1, 700), (2, 500), (3, 300)))
        for refund in (done, failed, pending):
            await uow.refunds.add(refund)
        done.mark_processing("gw_1", b.at(4))
        done.succeed(order.context(), b.at(4))
        failed.fail(order.context(), "declined", b.at(4))
        for refund in (done, failed):
            await uow.refunds.save(refund)
        assert await uow.refunds.amounts("pay_1") == RefundAmounts(reserved=1000, refunded=700)  # own writes
        await uow.commit()
    async with backend.uow() as uow:
        await uow.payments.add(other)
        await uow.refunds.add(b.refund("ref_9", other, order, 50))
        await uow.commit()
    async with backend.uow() as uow:
        await uow.payments.lock("pay_1")
        assert await uow.refunds.amounts("pay_1") == RefundAmounts(reserved=1000, refunded=700)
        assert await uow.refunds.amounts("pay_1") == RefundAmounts.of(await uow.refunds.for_payment("pay_1"))
        assert await uow.refunds.amounts("pay_1", excluding="ref_1") == RefundAmounts(reserved=300, refunded=0)
        assert await uow.refunds.amounts("pay_1", excluding="ref_2") == RefundAmounts(reserved=1000, refunded=700)
        assert await uow.refunds.amounts("pay_2") == RefundAmounts(reserved=50, refunded=0)
        assert await uow.refunds.amounts("nope") == RefundAmounts(0, 0)


async def test_webhook_inbox_dedups_on_gateway_and_event_id(backend):
    async with backend.uow() as uow:
        assert await uow.webhooks.add(b.webhook("wh_1", event_id="evt_1")) is True
        assert await uow.webhooks.add(b.webhook("wh_2", event_id="evt_1")) is False
        assert await uow.webhooks.add(b.webhook("wh_3", event_id="evt_1", gateway="paystack", now=b.at(1))) is True
        assert await uow.webhooks.add(b.webhook("wh_4", event_id="evt_2", now=b.at(-5))) is True
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.webhooks.add(b.webhook("wh_5", event_id="evt_1")) is False
        assert [w.id for w in await uow.webhooks.pending(10)] == ["wh_4", "wh_1", "wh_3"]
        event = await uow.webhooks.lock("wh_1")
        assert event == b.webhook("wh_1", event_id="evt_1")
        event.processed(b.at(1))
        await uow.webhooks.save(event)
        await uow.commit()
    async with backend.uow() as uow:
        assert (await uow.webhooks.get("wh_1")).status is WebhookStatus.PROCESSED
        assert [w.id for w in await uow.webhooks.pending(1)] == ["wh_4"]
        assert await uow.webhooks.get("wh_2") is None


async def test_webhook_events_round_trip_every_field(backend):
    event = attrs.evolve(b.webhook(), reported_status="succeeded", attempts=2, last_error="late",
                         processed_at=b.at(9))
    async with backend.uow() as uow:
        await uow.webhooks.add(event)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.webhooks.get("wh_1") == event


async def test_notifications_dedup_on_event_key_per_user(backend):
    async with backend.uow() as uow:
        assert await uow.notifications.add(b.notification("n1", event_key="evt:1")) is True
        assert await uow.notifications.add(b.notification("n2", event_key="evt:1")) is False
        assert await uow.notifications.add(b.notification("n3", event_key="evt:1", user_id="usr_2")) is True
        assert await uow.notifications.add(b.notification("n4", event_key=None)) is True
        assert await uow.notifications.add(b.notification("n5", event_key=None)) is True
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.notifications.add(b.notification("n6", event_key="evt:1")) is False
        note = await uow.notifications.get("n1")
        assert note == b.notification("n1", event_key="evt:1")
        note.mark_read()
        await uow.notifications.save(note)
        await uow.commit()
    async with backend.uow() as uow:
        assert (await uow.notifications.get("n1")).read is True
        assert await uow.notifications.get("n2") is None


async def test_a_reused_id_is_not_mistaken_for_a_duplicate_event(backend):
    async with backend.uow() as uow:
        assert await uow.webhooks.add(b.webhook("wh_1", event_id="evt_1")) is True
        assert await uow.notifications.add(b.notification("n1", event_key="evt:1")) is True
        with pytest.raises(AlreadyExists):
            await uow.webhooks.add(b.webhook("wh_1", event_id="evt_2"))
        with pytest.raises(AlreadyExists):
            await uow.notifications.add(b.notification("n1", event_key="evt:2"))
