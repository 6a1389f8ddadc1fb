"""Memory repository of the orders context."""
from __future__ import annotations

from collections.abc import Callable

from adapters.memory.session import MemorySession
from adapters.memory.table import MemoryTable
from application.errors import AlreadyExists
from domain.orders import EventContext, Order


class MemoryOrders(MemoryTable):
    table = "orders"

    async def context(self, order_id: str) -> EventContext | None:
        order = await self.get(order_id)
        return None if order is None else order.context()

    async def get_by_checkout(self, checkout_id: str) -> Order | None:
        return self._find(lambda o: o.checkout_id == checkout_id, by=("checkout_id", checkout_id))

    async def add(self, order: Order) -> None:
        if order.checkout_id and await self.get_by_checkout(order.checkout_id):
            raise AlreadyExists("this checkout was already confirmed", checkout_id=order.checkout_id)
        self._insert(order.id, order)


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {"orders": MemoryOrders}
