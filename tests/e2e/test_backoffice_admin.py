"""The admin API across every user: lists with filters and cursors, one payment as support sees it,
refunding any payment, failed webhooks (list, inspect, retry now), and who may call it."""
from __future__ import annotations

import json

import attrs

from adapters.gateways.sandbox import SIGNATURE_HEADER, sign
from application.ports.gateways import VerifiedPayment
from domain.payments import PaymentStatus

BACKENDS = ("memory", "postgres")
A = "/api/v1/admin"


async def paid(api, h, items=(("NG-RICE-5KG", 1),), key=None):
    order = await api.order(h, items=items, ship_to=None)
    payment = await api.initiate(h, order["id"], key or f"k-{order['id']}")
    await api.sandbox(payment, "approve")
    return order, payment


async def walk(api, path, headers, limit=2) -> list[str]:
    ids, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        page = await api.json("GET", f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""), headers,
                              expect=200)
        ids += [r["id"] for r in page["results"]]
        if not (cursor := page["next_cursor"]):
            return ids


async def test_lists_across_users_with_filters_and_cursors(api, admin):
    ada, bo = await api.user(email="ada.lists@example.com"), await api.user(email="bo.lists@example.com")
    o1, p1 = await paid(api, ada)
    o2, p2 = await paid(api, bo, items=(("US-BOOK-DDD", 1),))
    o3 = await api.order(ada, ship_to=None)  # pending, never paid
    await api.refund(ada, p1["id"], "r1", amount=1000)
    assert await walk(api, f"{A}/orders", admin) == [o3["id"], o2["id"], o1["id"]]
    assert await walk(api, f"{A}/orders?email=ADA.LISTS@example.com", admin) == [o3["id"], o1["id"]]
    assert await walk(api, f"{A}/orders?status=paid&currency=USD", admin) == [o2["id"]]
    assert await walk(api, f"{A}/orders?gateway=sandbox", admin) == [o2["id"], o1["id"]]
    assert await walk(api, f"{A}/orders?order_number={o1['order_number']}", admin) == [o1["id"]]
    assert await walk(api, f"{A}/orders?from=2000-01-01&to=2000-01-02", admin) == []
    assert await walk(api, f"{A}/payments?email=bo.lists@example.com", admin) == [p2["id"]]
    assert await walk(api, f"{A}/payments?status=succeeded&gateway=sandbox", admin) == [p2["id"], p1["id"]]
    refunds = await walk(api, f"{A}/refunds?order_number={o1['order_number']}", admin)
    assert len(refunds) == 1
    assert await walk(api, f"{A}/refunds?needs_attention=true", admin) == []
    one = await api.json("GET", f"{A}/orders/{o1['id']}", admin, expect=200)
    assert (one["customer_email"], one["payment_id"], [p["id"] for p in one["payments"]]) == (
        "ada.lists@example.com", p1["id"], [p1["id"]])
    bad = await api.json("GET", f"{A}/orders?status=lost", admin, expect=422)
    assert bad["errors"][0]["field"] == "status"
    assert (await api.json("GET", f"{A}/payments?from=yesterday", admin, expect=422))["errors"][0]["field"] == "from"
    assert (await api.json("GET", f"{A}/refunds?cursor=nonsense", admin, expect=422))["errors"][0]["field"] == "cursor"


async def test_admins_only(api, admin):
    h = await api.user()
    guest = await api.guest()
    for path in ("/orders", "/payments", "/refunds", "/fraud/reviews", "/fraud/rules", "/analytics/summary",
                 "/gateways/config", "/webhooks/failed", "/payments/pay_x", "/webhooks/whk_x"):
        await api.json("GET", A + path, expect=401)
        await api.json("GET", A + path, guest, expect=401)
        assert (await api.json("GET", A + path, h, expect=403))["code"] == "forbidden"
    await api.json("GET", f"{A}/payments/pay_nope", admin, expect=404)


async def test_a_payment_as_support_sees_it_and_an_admin_refund(api, admin, container):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k-detail")
    _, headers, body = await api.services.sandbox.settle(payment["reference"], approve=True)  # paid there
    await api.json("GET", f"/api/v1/payment/payments/{payment['id']}/check-status", h, expect=200)  # asks it
    await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=200)  # its webhook, late
    detail = await api.json("GET", f"{A}/payments/{payment['id']}", admin, expect=200)
    assert (detail["status"], detail["order_number"], detail["order_status"]) == (
        "succeeded", order["order_number"], "paid")
    assert detail["gateway_reference"] and detail["attempts"] == 1 and detail["paid_at"]
    assert [(w["type"], w["status"]) for w in detail["webhooks"]] == [("payment.approved", "processed")]
    assert [(t["type"], t["amount"], t["status"]) for t in detail["ledger"]] == [
        ("payment", payment["amount"], "succeeded")]
    assert (detail["verified"]["status"], detail["verified"]["amount"], detail["verified"]["operation"]) == (
        "succeeded", payment["amount"], "verify")
    refund = await api.json("POST", f"{A}/payments/{payment['id']}/refund", {**admin, "Idempotency-Key": "adm-r1"},
                            json={"amount": 500, "reason": "other", "description": "goodwill"}, expect=201)
    again = await api.json("POST", f"{A}/payments/{payment['id']}/refund", {**admin, "Idempotency-Key": "adm-r1"},
                           json={"amount": 500, "reason": "other", "description": "goodwill"}, expect=201)
    assert again["id"] == refund["id"] and refund["status"] == "succeeded" and refund["gateway_refund_id"]
    await api.json("POST", f"{A}/payments/{payment['id']}/refund", admin, json={"reason": "other"}, expect=400)
    refunded = await api.json("GET", f"{A}/payments/{payment['id']}", admin, expect=200)
    assert [r["id"] for r in refunded["refunds"]] == [refund["id"]]
    assert [t["type"] for t in refunded["ledger"]] == ["payment", "refund"]
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "partially_refunded"


async def test_failed_webhooks_are_listed_inspected_and_retried(api, admin, container, monkeypatch):
    h = await api.user()
    payments = []
    for n in range(3):
        order = await api.order(h, ship_to=None)
        payments.append(await api.initiate(h, order["id"], f"k-wh-{n}"))
    settlement = api.services.settlement
    real_apply = settlement.apply

    async def broken(*args, **kwargs):
        raise RuntimeError("the settlement broke")
    monkeypatch.setattr(settlement, "apply", broken)
    for payment in payments:
        _, headers, body = await api.services.sandbox.settle(payment["reference"], approve=True)
        answer = await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body, expect=200)
        assert answer["status"] == "failed"
    monkeypatch.setattr(settlement, "apply", real_apply)
    failed = await api.json("GET", f"{A}/webhooks/failed?limit=2", admin, expect=200)
    rest = await api.json("GET", f"{A}/webhooks/failed?limit=2&cursor={failed['next_cursor']}", admin, expect=200)
    listed = failed["results"] + rest["results"]
    assert len(listed) == 3 and rest["next_cursor"] is None
    assert listed[0]["reference"] == payments[-1]["reference"]  # newest first
    assert all("the settlement broke" in w["last_error"] and w["next_attempt_at"] for w in listed)
    one = await api.json("GET", f"{A}/webhooks/{listed[0]['id']}", admin, expect=200)
    assert (one["status"], one["attempts"], one["signature_ok"]) == ("failed", 1, True)
    assert one["payload"]["data"]["reference"] == payments[-1]["reference"]
    retried = await api.json("POST", f"{A}/webhooks/{listed[0]['id']}/retry", admin, expect=200)
    assert retried["status"] == "processed"
    assert (await api.json("GET", f"/api/v1/payment/payments/{payments[-1]['id']}", h))["status"] == "succeeded"
    left = await api.json("GET", f"{A}/webhooks/failed", admin, expect=200)
    assert {w["id"] for w in left["results"]} == {w["id"] for w in listed[1:]}
    await api.json("GET", f"{A}/webhooks/whk_nope", admin, expect=404)


async def test_personal_data_in_a_stored_webhook_is_redacted(api, admin, container):
    secret = container.config()["sandbox_secret"]
    body = json.dumps({"id": "evt_pii", "type": "payment.approved", "data": {
        "reference": "pp_unknown", "id": "sbx_1", "amount": 100, "currency": "NGN", "status": "approved",
        "customer": {"email": "ada@example.com", "phone": "+2348012345678", "first_name": "Ada"},
        "authorization": {"last4": "4081", "bin": "408408", "authorization_code": "AUTH_x"},
        "description": "paid by ada@example.com"}}).encode()
    ts = int(api.services.sandbox.clock.now().timestamp())
    await api.json("POST", "/api/v1/payment/webhooks/sandbox", {SIGNATURE_HEADER: sign(secret, body, ts)}, data=body,
                   expect=200)
    [stored] = await api.services.backoffice.read.webhooks_for("pp_unknown")  # ignored: no payment has it
    webhook_id = stored.id
    shown = await api.json("GET", f"{A}/webhooks/{webhook_id}", admin, expect=200)
    data = shown["payload"]["data"]
    assert data["customer"] == {"email": "[redacted]", "phone": "[redacted]", "first_name": "[redacted]"}
    assert data["authorization"] == "[redacted]" and data["description"] == "paid by [redacted]"
    assert (data["reference"], data["amount"], shown["status"]) == ("pp_unknown", 100, "ignored")


async def test_every_filter_of_the_payment_and_refund_lists_and_the_date_range(clock, api, admin):
    """Each filter narrows its list (and a page after a cursor keeps the filter): status, gateway,
    currency, from/to (creation, ``to`` excluded; a date or a date-time), e-mail, order number."""
    ada, bo = await api.user(email="ada.range@example.com"), await api.user(email="bo.range@example.com")
    o1, p1 = await paid(api, ada)  # NGN, 2026-01-01 12:00
    r1 = await api.refund(ada, p1["id"], "r1", amount=1000)
    clock.advance(86400)  # 2026-01-02 12:00
    o2, p2 = await paid(api, bo, items=(("US-BOOK-DDD", 1),))  # USD
    r2 = await api.refund(bo, p2["id"], "r2", amount=100)
    clock.advance(60)  # newest first: one instant each (the fake clock stands still)
    o3 = await api.order(bo, ship_to=None)
    p3 = await api.initiate(bo, o3["id"], "k-open")  # NGN, left open on the gateway's page

    async def ids(path: str) -> list[str]:
        return await walk(api, f"{A}{path}", admin, limit=1)
    assert await ids("/orders?from=2026-01-02") == [o3["id"], o2["id"]]
    assert await ids("/orders?to=2026-01-02") == [o1["id"]]
    assert await ids("/orders?from=2026-01-01T11:00:00Z&to=2026-01-01T13:00:00%2B00:00") == [o1["id"]]
    assert await ids("/orders?status=pending&email=bo.range@example.com") == [o3["id"]]
    assert await ids("/payments?currency=USD") == [p2["id"]]
    assert await ids("/payments?currency=NGN") == [p3["id"], p1["id"]]
    assert await ids("/payments?status=requires_action") == [p3["id"]]
    assert await ids("/payments?gateway=sandbox") == [p3["id"], p2["id"], p1["id"]]
    assert await ids("/payments?gateway=paystack") == []
    assert await ids("/payments?from=2026-01-02&currency=NGN") == [p3["id"]]
    assert await ids("/payments?to=2026-01-02") == [p1["id"]]
    assert await ids(f"/payments?order_number={o3['order_number']}") == [p3["id"]]
    assert await ids("/refunds") == [r2["id"], r1["id"]]
    assert await ids("/refunds?status=succeeded") == [r2["id"], r1["id"]]
    assert await ids("/refunds?status=failed") == []
    assert await ids("/refunds?currency=USD") == [r2["id"]]
    assert await ids("/refunds?gateway=sandbox&currency=NGN") == [r1["id"]]
    assert await ids("/refunds?gateway=paystack") == []
    assert await ids("/refunds?email=BO.RANGE@example.com") == [r2["id"]]
    assert await ids("/refunds?from=2026-01-02") == [r2["id"]]
    assert await ids("/refunds?to=2026-01-02") == [r1["id"]]
    assert await ids(f"/refunds?order_number={o2['order_number']}") == [r2["id"]]


async def test_what_the_gateway_verified_is_kept_without_personal_data_or_secrets(api, admin, monkeypatch):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k-verified")
    sandbox = api.services.sandbox
    real_verify = sandbox.verify_payment

    async def pending(reference, gateway_reference):  # a gateway's error text, as some put it
        return VerifiedPayment(PaymentStatus.PROCESSING, None, None, None, "pending", found=True,
                               error="card 4084 0840 8408 4081 of ada@example.com held; key sk_live_Zx81bq7 used")
    monkeypatch.setattr(sandbox, "verify_payment", pending)
    await api.json("GET", f"/api/v1/payment/payments/{payment['id']}/check-status", h, expect=200)
    await sandbox.settle(payment["reference"], approve=True)

    async def by_mobile_money(reference, gateway_reference):
        report = await real_verify(reference, gateway_reference)
        return attrs.evolve(report, payment_method="mobile_money")
    monkeypatch.setattr(sandbox, "verify_payment", by_mobile_money)
    paid = await api.json("GET", f"/api/v1/payment/payments/{payment['id']}/check-status", h, expect=200)
    assert (paid["status"], paid["payment_method"]) == ("succeeded", "mobile_money")  # as the gateway reported it
    detail = await api.json("GET", f"{A}/payments/{payment['id']}", admin, expect=200)
    assert detail["payment_method"] == "mobile_money"
    assert [(v["status"], v["payment_method"]) for v in detail["verifications"]] == [
        ("succeeded", "mobile_money"), ("processing", None)]  # newest first
    held = detail["verifications"][1]
    assert held["error"] == "card [redacted] of [redacted] held; key [redacted] used"
    assert held["raw_status"] == "pending" and held["amount"] is None
