"""Persistence ports: the per-request unit of work, and the read-model query port.

Each context's repositories, and the unit of work its use cases need, are in its own module
(``application/ports/payments.py``: ``PaymentRepository``... and ``PaymentsUnitOfWork``).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, Self

import attrs

from domain.catalog import Category
from domain.events import DomainEvent


class UnitOfWork(Protocol):
    """One transaction. ``async with uow:`` rolls back unless ``commit()`` was awaited inside.

    After a commit, the domain events recorded on the aggregates it loaded or added are published
    (through the outbox where the adapter has one). Never shared between requests.

    Its repositories are attributes. A use case types its unit of work with its context's
    Protocol, which extends this one with the repositories it uses (``PaymentsUnitOfWork``).
    """

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` once this unit of work has committed and released its connection (never
        if it rolls back); a failing action is logged, never raised."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]

#: Called inside ``commit()`` with the events the unit of work is committing, before it commits:
#: what the handler writes through the unit of work commits or rolls back with the change. The unit
#: of work handed over carries every context's repositories (a handler types it with the
#: Protocol it needs, e.g. ``NotificationsUnitOfWork``).
TransactionHandler = Callable[[UnitOfWork, list[DomainEvent]], Awaitable[None]]


class TransactionSubscribers(Protocol):
    """Where handlers subscribe to the events of every unit of work, in its transaction (the
    in-transaction counterpart of ``EventBus.subscribe``, which delivers after commit)."""

    def subscribe(self, handler: TransactionHandler) -> None: ...


@attrs.frozen
class Page:
    """One page of a list; ``next_cursor`` is opaque to clients (None on the last page)."""

    results: list[Any]
    next_cursor: str | None


class ReadModel(Protocol):
    """Queries for lists and reports (newest first, keyset pagination by (created_at, id)).

    ``owner_id`` None means all owners (admins). ``cursor`` is what a previous page returned.
    """

    async def list_orders(self, *, owner_id: str | None, status: str | None, workspace_id: str | None,
                          search: str | None, limit: int, cursor: str | None) -> Page: ...
    async def list_payments(self, *, owner_id: str | None, status: str | None, order_id: str | None,
                            limit: int, cursor: str | None) -> Page: ...
    async def list_refunds(self, *, owner_id: str | None, payment_id: str | None, limit: int,
                           cursor: str | None) -> Page: ...
    async def list_notifications(self, *, user_id: str, unread_only: bool, limit: int,
                                 cursor: str | None) -> Page: ...
    async def list_products(self, *, category: str | None, search: str | None, include_inactive: bool,
                            limit: int, cursor: str | None, tag: str | None = None) -> Page: ...
    async def list_categories(self) -> list[Category]: ...
