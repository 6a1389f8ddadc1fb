"""ReadModel contract: filters, newest-first order with id tie-break, and keyset pages walked to the end."""
from __future__ import annotations

import pytest

import pg_builders as b
from domain.errors import InvalidValue


async def _walk(list_fn, limit: int = 2, **filters) -> list[str]:
    ids, cursor, pages = [], None, 0
    while True:
        page = await list_fn(**filters, limit=limit, cursor=cursor)
        assert len(page.results) <= limit
        ids += [row.id for row in page.results]
        pages += 1
        assert pages < 50
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def _newest_first(rows) -> list[str]:
    return [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)]


@pytest.fixture
async def seeded(backend):
    """7 orders (two share a timestamp), a payment per order, refunds and notifications."""
    orders, payments, refunds, notes = [], [], [], []
    owners = ["usr_1", "usr_2", "usr_1", "usr_1", "usr_2", "usr_1", "usr_1"]
    seconds = [0, 10, 20, 20, 30, 40, 50]
    async with backend.uow() as uow:
        for n, (owner, s) in enumerate(zip(owners, seconds, strict=True)):
            order = b.order(f"ord_{n}", owner=owner, now=b.at(s), workspace_id="ws_A" if n % 2 else None,
                            number=f"PP-260101-N{n}X")
            if n in (1, 4):
                order.cancel(b.at(s + 1))
            await uow.orders.add(order)
            pay = b.succeeded(b.payment(f"pay_{n}", order_id=order.id, owner=owner, now=b.at(s)), order, b.at(s))
            await uow.payments.add(pay)
            orders.append(order)
            payments.append(pay)
        for n in range(5):
            refund = b.refund(f"rfd_{n}", payments[0], orders[0], 100, now=b.at(100 + 10 * (n // 2)),
                              existing=refunds)
            await uow.refunds.add(refund)
            refunds.append(refund)
        for n in range(6):
            note = b.notification(f"ntf_{n}", user_id="usr_1", event_key=f"e{n}", now=b.at(n // 2), read=n % 3 == 0)
            await uow.notifications.add(note)
            notes.append(note)
        await uow.notifications.add(b.notification("ntf_other", user_id="usr_2", event_key="x"))
        await uow.commit()
    return {"orders": orders, "payments": payments, "refunds": refunds, "notes": notes}


async def test_orders_filters_and_pages(backend, seeded):
    orders, rm = seeded["orders"], backend.read_model
    base = {"owner_id": None, "status": None, "workspace_id": None, "search": None}
    assert await _walk(rm.list_orders, **base) == _newest_first(orders)
    assert await _walk(rm.list_orders, 3, **{**base, "owner_id": "usr_1"}) == _newest_first(
        o for o in orders if o.owner_id == "usr_1")
    assert await _walk(rm.list_orders, **{**base, "status": "cancelled"}) == ["ord_4", "ord_1"]
    assert await _walk(rm.list_orders, **{**base, "workspace_id": "ws_A"}) == ["ord_5", "ord_3", "ord_1"]
    assert await _walk(rm.list_orders, **{**base, "search": "n3x"}) == ["ord_3"]
    assert await _walk(rm.list_orders, **{**base, "owner_id": "usr_2", "status": "pending"}) == []
    page = await rm.list_orders(**base, limit=100, cursor=None)
    assert page.next_cursor is None and page.results[0] == orders[6]


async def test_payments_filters_and_pages(backend, seeded):
    payments, rm = seeded["payments"], backend.read_model
    base = {"owner_id": None, "status": None, "order_id": None}
    assert await _walk(rm.list_payments, **base) == _newest_first(payments)
    assert await _walk(rm.list_payments, 1, **{**base, "owner_id": "usr_2"}) == ["pay_4", "pay_1"]
    assert await _walk(rm.list_payments, **{**base, "status": "succeeded", "order_id": "ord_3"}) == ["pay_3"]
    assert await _walk(rm.list_payments, **{**base, "status": "failed"}) == []
    assert (await rm.list_payments(**base, limit=1, cursor=None)).results == [payments[6]]


async def test_refunds_filters_and_pages(backend, seeded):
    refunds, rm = seeded["refunds"], backend.read_model
    expected = _newest_first(refunds)
    assert expected[:2] == ["rfd_4", "rfd_3"]
    assert await _walk(rm.list_refunds, owner_id=None, payment_id=None) == expected
    assert await _walk(rm.list_refunds, 4, owner_id="usr_1", payment_id="pay_0") == expected
    assert await _walk(rm.list_refunds, owner_id="usr_2", payment_id=None) == []


async def test_notifications_filters_and_pages(backend, seeded):
    notes, rm = seeded["notes"], backend.read_model
    assert await _walk(rm.list_notifications, user_id="usr_1", unread_only=False) == _newest_first(notes)
    assert await _walk(rm.list_notifications, 1, user_id="usr_1", unread_only=True) == _newest_first(
        n for n in notes if not n.read)
    assert await _walk(rm.list_notifications, user_id="usr_3", unread_only=False) == []


async def test_products_by_sku_with_filters(backend):
    async with backend.uow() as uow:
        for sku, cat, active in [("TEE-2", "tees", True), ("CAP-1", "caps", True), ("TEE-1", "tees", True),
                                 ("TEE-9", "tees", False), ("MUG-1", "mugs", True), ("Tee-0", "tees", True)]:
            await uow.products.add(b.product(sku, category=cat, active=active, name=f"{cat} {sku}"))
        await uow.commit()
    rm = backend.read_model
    assert [p.sku for p in (await rm.list_products(category=None, search=None, include_inactive=True,
                                                    limit=100, cursor=None)).results] == sorted(
        ["TEE-2", "CAP-1", "TEE-1", "TEE-9", "MUG-1", "Tee-0"])
    walk = await _walk(rm.list_products, 2, category=None, search=None, include_inactive=False)
    assert walk == ["prd_CAP-1", "prd_MUG-1", "prd_TEE-1", "prd_TEE-2", "prd_Tee-0"]
    assert await _walk(rm.list_products, 1, category="tees", search=None, include_inactive=True) == [
        "prd_TEE-1", "prd_TEE-2", "prd_TEE-9", "prd_Tee-0"]
    assert await _walk(rm.list_products, category=None, search="tee-", include_inactive=False) == [
        "prd_TEE-1", "prd_TEE-2", "prd_Tee-0"]
    assert await _walk(rm.list_products, category=None, search="MUGS", include_inactive=False) == ["prd_MUG-1"]


async def test_a_forged_cursor_is_invalid(backend):
    with pytest.raises(InvalidValue):
        await backend.read_model.list_orders(owner_id=None, status=None, workspace_id=None, search=None,
                                             limit=10, cursor="not-a-cursor")
