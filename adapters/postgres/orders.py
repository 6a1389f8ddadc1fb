"""Postgres repository of the orders context: orders with their items."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from adapters.postgres.mapping import Table, fields_of
from adapters.postgres.repo_base import Repository
from adapters.postgres.session import PostgresSession
from application.errors import AlreadyExists
from domain.checkout import LineItem
from domain.orders import Order, OrderStatus


def _items(value: Any) -> list[LineItem]:
    return [LineItem(**item) for item in value or []]


_ITEMS_SQL = ("SELECT coalesce(json_agg(json_build_object('sku', i.sku, 'product_id', i.product_id, "
              "'name', i.name, 'unit_price', i.unit_price, 'quantity', i.quantity) ORDER BY i.position), "
              "'[]'::json) FROM order_items i WHERE i.order_id = t.id")

ORDERS = Table("orders", Order, "id", fields_of(Order, skip=("items",)), {"status": OrderStatus, "items": _items},
               extras={"items": _ITEMS_SQL}, versioned=True)


def order_item_rows(order: Order) -> list[dict[str, Any]]:
    return [{"order_id": order.id, "position": n, **attrs.asdict(item)} for n, item in enumerate(order.items)]


class PostgresOrders(Repository):
    """Orders with their items (``order_items``, written once: items never change)."""

    table = ORDERS

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


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"orders": PostgresOrders}
#: This context's tables, in foreign-key order.
TABLES = ("orders", "order_items")
