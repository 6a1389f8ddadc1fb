"""The admin analytics summary over HTTP on both backends: revenue by day, currency and gateway,
success and refund rates, average order value, orders by status and top products, converted into
the reporting currency with the configured rate table (its date in the answer), cached 10 minutes."""
from __future__ import annotations

import json
from fractions import Fraction

import pytest
from dependency_injector import providers
from redis.asyncio import Redis

import container as composition
from adapters.system import FakeClock
from domain.money import exponent

BACKENDS = ("memory", "postgres")
A = "/api/v1/admin/analytics/summary"
RATES = {"date": "2025-12-31", "base": "USD", "rates": {"NGN": "1500", "GHS": "15"}}  # no KES


@pytest.fixture
def container(settings, tmp_path):
    path = tmp_path / "rates.json"
    path.write_text(json.dumps(RATES))
    c = composition.build_container(settings, environ={"PAYPORT_EXCHANGE_RATES_FILE": str(path)})
    c.core.clock.override(providers.Object(FakeClock()))  # 2026-01-01 12:00 UTC
    return c


def usd(amount: int, currency: str) -> int:
    if currency == "USD":
        return amount
    major = Fraction(amount, 10 ** exponent(currency)) / Fraction(RATES["rates"][currency])
    return round(major * 100)


async def pay(api, h, sku, qty=1, outcome="approve"):
    h = await api.user()  # one customer each (checkout confirmation is rate-limited per user)
    order = await api.order(h, items=((sku, qty),), ship_to=None)
    payment = await api.initiate(h, order["id"], f"k-{order['id']}")
    await api.sandbox(payment, outcome)
    return order, payment


async def test_the_summary_in_a_reporting_currency(api, admin, container):
    h = await api.user()
    rice, rice_pay = await pay(api, h, "NG-RICE-5KG", 2)
    book, _ = await pay(api, h, "US-BOOK-DDD")
    cocoa, _ = await pay(api, h, "GH-COCOA-1KG", 3)
    tea, _ = await pay(api, h, "KE-TEA-500G")
    await pay(api, h, "NG-RICE-5KG", 1, outcome="decline")
    await api.order(h, ship_to=None)  # placed, never paid
    await api.refund(admin, rice_pay["id"], "r1", amount=100_000)
    summary = await api.json("GET", f"{A}?from=2026-01-01&to=2026-01-01&currency=USD", admin, expect=200)
    assert (summary["from"], summary["to"], summary["currency"]) == ("2026-01-01", "2026-01-01", "USD")
    assert summary["rates"]["date"] == "2025-12-31" and summary["rates"]["base"] == "USD"
    captured = usd(rice["total"], "NGN") + book["total"] + usd(cocoa["total"], "GHS")
    refunded = usd(100_000, "NGN")
    assert refunded == 67  # NGN 1,000.00 at 1500 a dollar: USD 0.6667, rounded to 0.67
    assert summary["revenue"] == {"captured": captured, "refunded": refunded, "net": captured - refunded}
    assert summary["revenue_by_day"] == [{"date": "2026-01-01", **summary["revenue"]}]
    assert summary["revenue_by_gateway"] == [{"gateway": "sandbox", **summary["revenue"]}]
    by_currency = {c["currency"]: c for c in summary["revenue_by_currency"]}
    assert by_currency["NGN"]["captured"] == rice["total"] and by_currency["NGN"]["refunded"] == 100_000
    assert by_currency["NGN"]["converted"]["net"] == usd(rice["total"], "NGN") - refunded
    assert by_currency["KES"]["captured"] == tea["total"] and by_currency["KES"]["converted"]["captured"] == 0
    assert summary["unconverted"] == ["KES"]
    assert summary["payments"]["by_status"]["succeeded"] == 4 and summary["payments"]["by_status"]["failed"] == 1
    assert summary["payments"]["success_rate"] == 0.8
    assert summary["refunds"]["count"] == 1 and summary["refunds"]["amount"] == refunded
    assert summary["refunds"]["rate"] == round(refunded / captured, 4)
    assert summary["orders"]["by_status"] == {"paid": 3, "partially_refunded": 1, "pending": 2}
    assert summary["orders"]["paid"] == 4
    assert summary["orders"]["average_order_value"] == round(Fraction(captured, 3))
    top = [(p["sku"], p["quantity"], p["revenue"]) for p in summary["top_products"]]
    assert top == [("US-BOOK-DDD", 1, 4550), ("GH-COCOA-1KG", 3, 1300),  # GHS 195.00 at 15: USD 13.00
                   ("NG-RICE-5KG", 2, 1133), ("KE-TEA-500G", 1, 0)]  # NGN 17,000.00 at 1500: USD 11.33
    in_naira = await api.json("GET", f"{A}?from=2026-01-01&to=2026-01-01&currency=NGN", admin, expect=200)
    assert in_naira["revenue"]["refunded"] == 100_000  # no conversion for the currency itself


async def test_it_is_cached_for_ten_minutes(api, admin, container):
    clock = await composition.resolve(container.core.clock)
    h = await api.user()
    await pay(api, h, "US-BOOK-DDD")
    first = await api.json("GET", f"{A}?currency=USD", admin, expect=200)
    await pay(api, h, "US-BOOK-DDD")
    again = await api.json("GET", f"{A}?currency=USD", admin, expect=200)
    assert again == first  # at most the analytics TTL stale, and it says when it was computed
    if container.config()["storage"] != "memory":  # in Redis, for ten minutes
        config = container.config()
        redis = Redis.from_url(config["redis_url"])
        try:
            [key] = [k async for k in redis.scan_iter(match=config["redis_prefix"] + "*analytics:summary:*")
                     if not k.endswith(b":gen")]
            assert 590_000 < await redis.pttl(key) <= 600_000, key
        finally:
            await redis.aclose()
    if container.config()["storage"] == "memory":  # Redis keeps real time: the memory cache the fake clock's
        clock.advance(601)
        later = await api.json("GET", f"{A}?currency=USD", admin, expect=200)
        assert later["payments"]["succeeded"] == 2 and later["generated_at"] != first["generated_at"]


@pytest.mark.parametrize(("query", "field"), [("currency=XYZ", "currency"), ("currency=KES", "currency"),
                                              ("from=2026-02-01&to=2026-01-01", "from"),
                                              ("from=2024-01-01&to=2026-01-01", "from"), ("to=tomorrow", "to")])
async def test_a_range_or_currency_it_cannot_answer_is_refused(api, admin, query, field):
    refused = await api.json("GET", f"{A}?{query}", admin, expect=422)
    assert refused["errors"][0]["field"] == field
