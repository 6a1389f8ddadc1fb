"""Persistence ports of the orders context."""
from __future__ import annotations

from typing import Protocol

from application.ports.catalog import ProductsUnitOfWork
from domain.orders import EventContext, Order
from domain.payments import PaymentIntent


class OrderRepository(Protocol):
    """Orders. ``save`` checks the version loaded (optimistic) and raises ConcurrencyConflict.

    ``add`` raises AlreadyExists when an order for the same checkout exists.
    """

    async def get(self, order_id: str) -> Order | None: ...
    async def lock(self, order_id: str) -> Order | None: ...
    #: who and which order its events are about, without reading the order's items and history
    async def context(self, order_id: str) -> EventContext | None: ...
    async def get_by_checkout(self, checkout_id: str) -> Order | None: ...
    async def add(self, order: Order) -> None: ...
    async def save(self, order: Order) -> None: ...


class ActivePayments(Protocol):
    """What ordering asks of the payments: the one in progress for an order, if any (a
    ``PaymentRepository`` is one)."""

    async def active_for_order(self, order_id: str) -> PaymentIntent | None: ...


class OrdersUnitOfWork(ProductsUnitOfWork, Protocol):
    """What placing and cancelling orders use: orders, the stock of their products, and whether a
    payment is under way."""

    orders: OrderRepository
    payments: ActivePayments
