"""Memory adapters of the back office: the admin lists, the analytics sums, the gateway
configuration rows and the record of gateway answers, over the embedded store (the same filters,
orders and cursors as the Postgres ones)."""
from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

from adapters.memory.read_model import _created, _page
from adapters.memory.store import MemoryStore
from application.errors import ConcurrencyConflict
from application.ports import Page
from application.ports.backoffice import AdminFilters, AnalyticsRows, ConfigEntry, Verification
from domain.payments import PaymentStatus, TransactionStatus, TransactionType
from domain.webhooks import WebhookStatus


class MemoryAdminReadModel:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def _rows(self, table: str) -> list[Any]:
        return [r for r in self.store.tables[table].values() if r is not None]

    def _orders_where(self, f: AdminFilters) -> set[str] | None:
        """Ids of the orders the customer filters (e-mail, order number) leave; None: no such filter."""
        if f.email is None and f.order_number is None:
            return None
        return {o.id for o in self._rows("orders")
                if (f.email is None or (o.customer_email or "").lower() == f.email.lower())
                and (f.order_number is None or o.order_number == f.order_number)}

    def _common(self, row: Any, f: AdminFilters) -> bool:
        return ((f.status is None or row.status.value == f.status)
                and (f.currency is None or row.currency == f.currency)
                and (f.created_from is None or row.created_at >= f.created_from)
                and (f.created_to is None or row.created_at < f.created_to))

    async def list_orders(self, filters, *, limit, cursor) -> Page:
        orders = self._orders_where(filters)
        payments = self.store.tables["payments"]
        rows = [o for o in self._rows("orders") if self._common(o, filters)
                and (orders is None or o.id in orders)
                and (filters.gateway is None or (o.payment_id and payments[o.payment_id].gateway == filters.gateway))]
        return _page(rows, _created, limit, cursor)

    async def list_payments(self, filters, *, limit, cursor) -> Page:
        orders = self._orders_where(filters)
        rows = [p for p in self._rows("payments") if self._common(p, filters)
                and (filters.gateway is None or p.gateway == filters.gateway)
                and (orders is None or p.order_id in orders)]
        return _page(rows, _created, limit, cursor)

    async def list_refunds(self, filters, *, limit, cursor) -> Page:
        orders = self._orders_where(filters)
        payments = self.store.tables["payments"]
        rows = [r for r in self._rows("refunds") if self._common(r, filters)
                and (filters.gateway is None or payments[r.payment_id].gateway == filters.gateway)
                and (filters.needs_attention is None or r.needs_attention == filters.needs_attention)
                and (orders is None or r.order_id in orders)]
        return _page(rows, _created, limit, cursor)

    async def failed_webhooks(self, *, limit, cursor) -> Page:
        rows = [w for w in self._rows("webhooks") if w.status is WebhookStatus.FAILED]
        return _page(rows, lambda w: w.received_at.isoformat(), limit, cursor)

    async def held_payments(self, *, limit, cursor) -> Page:
        rows = [p for p in self._rows("payments") if p.status is PaymentStatus.REQUIRES_REVIEW]
        return _page(rows, lambda p: p.updated_at.isoformat(), limit, cursor, newest_first=False)

    async def payments_of(self, order_id):
        rows = [p for p in self._rows("payments") if p.order_id == order_id]
        return sorted(rows, key=lambda p: (p.created_at, p.id), reverse=True)

    async def webhooks_for(self, reference, limit=50):
        rows = [w for w in self._rows("webhooks") if w.reference == reference]
        return sorted(rows, key=lambda w: (w.received_at, w.id), reverse=True)[:limit]

    async def verifications(self, reference, limit=20):
        rows = [v for v in self.store.tables["gateway_verifications"].values() if v.reference == reference]
        return sorted(rows, key=lambda v: v.at, reverse=True)[:limit]


class MemoryAnalytics:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def rows(self, start, end, top=10) -> AnalyticsRows:
        ledger: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
        for t in self.store.ledger:
            if t.status is TransactionStatus.SUCCEEDED and start <= t.processed_at < end:
                entry = ledger[(t.type, t.processed_at.date(), t.currency, t.gateway)]
                entry[0] += t.amount
                entry[1] += 1
        captured = [(d, c, g, a, n) for (kind, d, c, g), (a, n) in ledger.items() if kind is TransactionType.PAYMENT]
        refunded = [(d, c, g, a, n) for (kind, d, c, g), (a, n) in ledger.items() if kind is TransactionType.REFUND]
        outcomes: dict[str, int] = defaultdict(int)
        for p in self.store.tables["payments"].values():
            if p is not None and start <= p.created_at < end:
                outcomes[p.status.value] += 1
        orders_by_status: dict[str, int] = defaultdict(int)
        paid: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        products: dict[tuple[str, str], list] = {}
        for o in self.store.tables["orders"].values():
            if o is None or not start <= o.created_at < end:
                continue
            orders_by_status[o.status.value] += 1
            if o.paid_at is None:
                continue
            paid[o.currency][0] += 1
            paid[o.currency][1] += o.total
            if o.status.value in ("refunded", "cancelled"):
                continue
            for item in o.items:
                entry = products.setdefault((item.sku, o.currency), [item.name, 0, 0])
                entry[0] = min(entry[0], item.name)
                entry[1] += item.quantity
                entry[2] += item.total
        best = sorted(((sku, name, cur, q, r) for (sku, cur), (name, q, r) in products.items()),
                      key=lambda p: (-p[4], p[0]))[:top]
        return AnalyticsRows(captured=captured, refunded=refunded, outcomes=dict(outcomes),
                             orders=dict(orders_by_status),
                             paid_orders=[(c, n, total) for c, (n, total) in paid.items()], products=best)


class MemoryPaymentConfigStore:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def get(self, name: str) -> ConfigEntry | None:
        return self.store.tables["payment_config"].get(name)

    async def save(self, entry: ConfigEntry) -> None:
        rows = self.store.tables["payment_config"]
        stored = rows.get(entry.name)
        if (stored.version if stored else 0) != entry.version - 1:
            raise ConcurrencyConflict(f"the {entry.name} configuration was changed by someone else; reload it")
        rows[entry.name] = copy.deepcopy(entry)


class MemoryVerificationLog:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def record(self, verification: Verification) -> None:
        rows = self.store.tables["gateway_verifications"]
        rows[str(len(rows))] = verification
