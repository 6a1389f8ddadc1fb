"""The admin analytics summary: revenue by day, currency and gateway, payment success rate, refunds,
average order value, orders by status, top products, in one reporting currency.

Aggregates come from the ledger and the orders (``AnalyticsQueries``: SQL aggregates on Postgres),
per currency; each figure is then converted into the reporting currency from its own per-currency
sums with the configured rate table (``domain/exchange.py``: exact, rounded half to even once per
figure), so a figure may differ by a minor unit from the sum of its parts. A currency the table has
no rate for is left out of the converted figures and named in ``unconverted``.

Cached for the analytics TTL (10 minutes) per (range, currency), and not invalidated by writes
(every payment would): the answer is at most that stale, and says when it was computed.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

import json

from application import cache_keys
from application.caching import CacheAside
from application.ports import Clock
from application.ports.backoffice import AnalyticsQueries, AnalyticsRows
from domain.errors import InvalidValue
from domain.exchange import ExchangeRates
from domain.payments import PaymentStatus

#: the longest range one summary covers, and the default one
MAX_DAYS, DEFAULT_DAYS = 366, 30
#: intents that ended: the success rate is succeeded among them
_ENDED = (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.EXPIRED, PaymentStatus.CANCELED)


class Analytics:
    def __init__(self, queries: AnalyticsQueries, rates: ExchangeRates, clock: Clock,
                 cache: CacheAside | None = None, ttl: float = 600.0, top: int = 10) -> None:
        self.queries, self.rates, self.clock, self.cache, self.ttl, self.top = queries, rates, clock, cache, ttl, top

    def _range(self, start: date | None, end: date | None) -> tuple[date, date]:
        end = end or self.clock.now().astimezone(UTC).date()
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise InvalidValue("from is after to", field="from")
        if (end - start).days >= MAX_DAYS:
            raise InvalidValue(f"a summary covers at most {MAX_DAYS} days", field="from")
        return start, end

    async def summary(self, start: date | None = None, end: date | None = None,
                      currency: str | None = None) -> bytes:
        """The summary of the days ``start``..``end`` (UTC, both included) as JSON bytes."""
        start, end = self._range(start, end)
        currency = (currency or self.rates.base).upper()
        if not self.rates.knows(currency):
            raise InvalidValue(f"the exchange rates of {self.rates.date} have no rate for {currency}",
                               field="currency", known=sorted(self.rates.rates))

        async def compute() -> bytes:
            rows = await self.queries.rows(datetime.combine(start, time(), UTC),
                                           datetime.combine(end + timedelta(days=1), time(), UTC), self.top)
            return json.dumps(self._shape(rows, start, end, currency), separators=(",", ":")).encode()
        if self.cache is None:
            return await compute()
        return await self.cache.get(cache_keys.analytics_summary(str(start), str(end), currency), self.ttl, compute,
                                    "analytics")

    def _shape(self, rows: AnalyticsRows, start: date, end: date, target: str) -> dict:
        unconverted: set[str] = set()

        def converted(amounts: Iterable[tuple[str, int]]) -> int:
            per_currency: dict[str, int] = defaultdict(int)
            for cur, amount in amounts:
                per_currency[cur] += amount
            total = 0
            for cur, amount in per_currency.items():
                if self.rates.knows(cur):
                    total += self.rates.convert(amount, cur, target)
                else:
                    unconverted.add(cur)
            return total

        def money(captured: list, refunded: list) -> dict:
            gross, back = converted(captured), converted(refunded)
            return {"captured": gross, "refunded": back, "net": gross - back}

        days = sorted({r[0] for r in (*rows.captured, *rows.refunded)})
        currencies = sorted({r[1] for r in (*rows.captured, *rows.refunded)})
        gateways = sorted({r[2] for r in (*rows.captured, *rows.refunded)})
        by_currency = []
        for cur in currencies:
            own_captured = sum(r[3] for r in rows.captured if r[1] == cur)
            own_refunded = sum(r[3] for r in rows.refunded if r[1] == cur)
            by_currency.append({"currency": cur, "captured": own_captured, "refunded": own_refunded,
                                "net": own_captured - own_refunded,
                                "converted": money([(cur, own_captured)], [(cur, own_refunded)])})
        total = money([(r[1], r[3]) for r in rows.captured], [(r[1], r[3]) for r in rows.refunded])
        payments = {s.value: rows.outcomes.get(s.value, 0) for s in PaymentStatus}
        ended = sum(payments[s.value] for s in _ENDED)
        succeeded_count = sum(r[4] for r in rows.captured)
        refund_count = sum(r[4] for r in rows.refunded)
        paid_count = sum(count for _, count, _ in rows.paid_orders)
        paid_total = converted((cur, amount) for cur, _, amount in rows.paid_orders)
        averaged = sum(count for cur, count, _ in rows.paid_orders if self.rates.knows(cur))
        products: dict[str, dict] = {}
        for sku, name, cur, quantity, revenue in rows.products:
            entry = products.setdefault(sku, {"sku": sku, "name": name, "quantity": 0, "revenue": 0})
            entry["quantity"] += quantity
            entry["revenue"] += converted([(cur, revenue)])
        return {
            "from": start.isoformat(), "to": end.isoformat(), "currency": target,
            "rates": self.rates.describe(),
            "generated_at": self.clock.now().astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "revenue": total,
            "revenue_by_day": [{"date": d.isoformat(),
                                **money([(r[1], r[3]) for r in rows.captured if r[0] == d],
                                        [(r[1], r[3]) for r in rows.refunded if r[0] == d])} for d in days],
            "revenue_by_currency": by_currency,
            "revenue_by_gateway": [{"gateway": g, **money([(r[1], r[3]) for r in rows.captured if r[2] == g],
                                                          [(r[1], r[3]) for r in rows.refunded if r[2] == g])}
                                   for g in gateways],
            "payments": {"by_status": payments, "ended": ended, "succeeded": payments["succeeded"],
                         "success_rate": _ratio(payments["succeeded"], ended)},
            "refunds": {"count": refund_count, "amount": total["refunded"],
                        "rate": _ratio(total["refunded"], total["captured"]),
                        "count_rate": _ratio(refund_count, succeeded_count)},
            "orders": {"by_status": dict(sorted(rows.orders.items())), "paid": paid_count,
                       "average_order_value": round(Fraction(paid_total, averaged)) if averaged else None},
            "top_products": sorted(products.values(), key=lambda p: (-p["revenue"], p["sku"]))[:self.top],
            "unconverted": sorted(unconverted),
        }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
