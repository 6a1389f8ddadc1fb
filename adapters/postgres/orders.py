"""Postgres repository of the orders context: orders with their items."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from adapters.postgres.mapping import Table, fields_of
from adapters.postgres.repo_base import Repository
from adapters.postgres.session import PostgresSession
from application.errors import AlreadyExists
from domain.checkout import LineItem
from adapters.postgres.mapping import _utc
from domain.orders import EventContext, Order, OrderStatus, StatusChange


def _items(value: Any) -> list[LineItem]:
    return [LineItem(**item) for item in value or []]


def _history(value: Any) -> list[StatusChange]:
    return [StatusChange(h["from_status"], h["to_status"], _utc(datetime.fromisoformat(h["at"])), h["by"], h["note"])
            for h in value or []]


_ITEMS_SQL = ("SELECT coalesce(json_agg(json_build_object('sku', i.sku, 'product_id', i.product_id, "
              "'name', i.name, 'unit_price', i.unit_price, 'quantity', i.quantity) ORDER BY i.position), "
              "'[]'::json) FROM order_items i WHERE i.order_id = t.id")

#: the history's ``at`` as ISO-8601 text, read back exactly (json_build_object would render it in
#: the session's time zone, without the "T")
_HISTORY_SQL = ("SELECT coalesce(json_agg(json_build_object('from_status', h.from_status, 'to_status', h.to_status, "
                "'at', to_char(h.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), 'by', h.by, "
                "'note', h.note) ORDER BY h.position), '[]'::json) FROM order_status_history h "
                "WHERE h.order_id = t.id AND h.at >= t.created_at")  # no entry predates its order: prunes partitions

ORDERS = Table("orders", Order, "id", fields_of(Order, skip=("items", "status_history")),
               {"status": OrderStatus, "items": _items, "status_history": _history},
               extras={"items": _ITEMS_SQL, "status_history": _HISTORY_SQL}, versioned=True)
_CONTEXT = ("SELECT owner_id AS user_id, customer_email AS user_email, customer_name AS user_name, workspace_id,"
            " id AS order_id, order_number FROM orders WHERE id = %s")
_HISTORY_INSERT = ("INSERT INTO order_status_history (order_id, position, from_status, to_status, at, by, note) "
                   "VALUES {} ON CONFLICT (order_id, position, at) DO NOTHING")  # the key holds the partition key (0014)


def order_item_rows(order: Order) -> list[dict[str, Any]]:
    return [{"order_id": order.id, "position": n, **attrs.asdict(item)} for n, item in enumerate(order.items)]


class PostgresOrders(Repository):
    """Orders with their items (``order_items``, written once: items never change) and their status
    history (``order_status_history``, append-only: each save adds the entries made since the
    order was loaded, sent with the COMMIT)."""

    table = ORDERS

    def __init__(self, session: PostgresSession) -> None:
        super().__init__(session)
        #: order id -> history entries stored when this unit of work first saw the order
        self._stored: dict[str, int] = {}

    async def _select(self, where, params, *, lock=False, order="", limit=None):
        found = await super()._select(where, params, lock=lock, order=order, limit=limit)
        for o in found:
            self._stored.setdefault(o.id, len(o.status_history))
        return found

    async def save(self, order: Order) -> None:
        await super().save(order)
        self._append_history(order)

    def _append_history(self, order: Order) -> None:
        start = self._stored.get(order.id, 0)
        new = order.status_history[start:]
        if not new:
            return
        rows = [(order.id, start + n, h.from_status, h.to_status, h.at, h.by, h.note) for n, h in enumerate(new)]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
        self.session.defer(_HISTORY_INSERT.format(values), [v for row in rows for v in row])
        self._stored[order.id] = len(order.status_history)

    async def context(self, order_id: str) -> EventContext | None:
        """The order's event context from its own row (one this unit of work holds: from it)."""
        held = self.session.cached(self.table, order_id)
        if held is not None:
            return held.context()
        rows = await self.session.fetch(_CONTEXT, [order_id], plain_read=True)
        return EventContext(**rows[0]) if rows else None

    async def get_by_checkout(self, checkout_id: str) -> Order | None:
        return await self._first("checkout_id = %s", [checkout_id])

    async def add(self, order: Order) -> None:
        if not await self._insert(order):
            if order.checkout_id and await self.get_by_checkout(order.checkout_id):
                raise AlreadyExists("this checkout was already confirmed", checkout_id=order.checkout_id)
            raise AlreadyExists(f"orders {order.id} exists")
        items = order_item_rows(order)
        if items:
            columns = list(items[0])
            values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(items))
            await self.session.execute(f"INSERT INTO order_items ({', '.join(columns)}) VALUES {values}",
                                       [row[c] for row in items for c in columns])
        self._stored[order.id] = 0
        self._append_history(order)


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"orders": PostgresOrders}
#: This context's tables, in foreign-key order.
TABLES = ("orders", "order_items", "order_status_history")
