"""Memory unit of work: copy-on-read, buffered writes applied at commit, one writer at a time."""
from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from adapters.after_commit import run_after_commit
from adapters.memory.deliveries import MemoryDeliveries
from adapters.memory.delivery_repositories import (
    MemoryAddresses,
    MemoryCarts,
    MemoryRedemptions,
)
from adapters.memory.repositories import (
    MemoryCoupons,
    MemoryLedger,
    MemoryNotifications,
    MemoryOrders,
    MemoryPayments,
    MemoryProducts,
    MemoryRefunds,
    MemoryUsers,
    MemoryWebhooks,
)
from adapters.memory.store import MemoryStore
from application.errors import ConcurrencyConflict
from application.ports import EventBus, TransactionHandler

log = logging.getLogger(__name__)


class MemoryUnitOfWork:
    """Holds ``store.lock`` for its whole life, so it behaves as a serialisable transaction."""

    def __init__(self, store: MemoryStore, bus: EventBus, handlers: Sequence[TransactionHandler] = ()) -> None:
        self.store = store
        self.bus = bus
        self.handlers = handlers
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self._writes: dict[tuple[str, str], Any] = {}
        self._loaded_versions: dict[tuple[str, str], int] = {}
        self._ledger: list[Any] = []
        self._seen: list[Any] = []
        self._events: list[Any] = []
        self._committed = False
        self.users = MemoryUsers(self, "users")
        self.products = MemoryProducts(self, "products")
        self.coupons = MemoryCoupons(self, "coupons")
        self.orders = MemoryOrders(self, "orders")
        self.payments = MemoryPayments(self, "payments")
        self.refunds = MemoryRefunds(self, "refunds")
        self.ledger = MemoryLedger(self)
        self.webhooks = MemoryWebhooks(self, "webhooks")
        self.notifications = MemoryNotifications(self, "notifications")
        self.carts = MemoryCarts(self, "carts")
        self.addresses = MemoryAddresses(self, "addresses")
        self.redemptions = MemoryRedemptions(self, "coupon_redemptions")
        self.deliveries = MemoryDeliveries(self)

    # -- used by the repositories -------------------------------------------------------------
    def read(self, table: str, key: str) -> Any | None:
        if (table, key) in self._writes:
            return self._writes[(table, key)]
        obj = self.store.tables[table].get(key)
        if obj is None:
            return None
        obj = copy.deepcopy(obj)
        self._writes[(table, key)] = obj  # later reads in this unit of work see the same object
        if hasattr(obj, "version"):
            self._loaded_versions[(table, key)] = obj.version
        self._track(obj)
        return obj

    def keys_where(self, table: str, predicate) -> list[str]:
        """Keys of the rows of ``table`` (as this unit of work sees them) that match ``predicate``.
        Committed rows are looked at in place, never copied; only what is read later is."""
        mine = {k: obj for (t, k), obj in self._writes.items() if t == table}
        keys = [k for k, obj in mine.items() if obj is not None and predicate(obj)]
        keys += [k for k, obj in self.store.tables[table].items()
                 if k not in mine and obj is not None and predicate(obj)]
        return keys

    def write(self, table: str, key: str, obj: Any, *, new: bool) -> None:
        if not new and hasattr(obj, "version"):
            loaded = self._loaded_versions.get((table, key))
            current = self.store.tables[table].get(key)
            if loaded is not None and current is not None and current.version != loaded:
                raise ConcurrencyConflict(f"{table} {key} was changed by another request")
        self._writes[(table, key)] = obj
        self._track(obj)

    def append_ledger(self, transaction: Any) -> None:
        self._ledger.append(transaction)

    def _track(self, obj: Any) -> None:
        if hasattr(obj, "events") and all(obj is not s for s in self._seen):
            self._seen.append(obj)

    # -- the unit of work ----------------------------------------------------------------------
    async def __aenter__(self) -> MemoryUnitOfWork:
        await self.store.lock.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if not self._committed:
                await self.rollback()
        finally:
            self.store.lock.release()
        events, self._events = self._events, []
        for event in events:  # published after the lock is released: handlers open their own UoW
            await self.bus.publish(event)
        actions, self._after_commit = self._after_commit, []
        await run_after_commit(actions)

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(action)

    async def commit(self) -> None:
        raised = [event for obj in self._seen for event in obj.events]
        for handler in self.handlers:  # in the transaction: their writes are applied below, or not at all
            await handler(self, raised)
        for obj in self._seen:  # events leave the aggregates before they are stored: published once
            self._events.extend(obj.events)
            obj.events.clear()
        for (table, key), obj in self._writes.items():
            self.store.tables[table][key] = copy.deepcopy(obj)
        self.store.ledger.extend(self._ledger)
        self.store.commits += 1
        self._writes, self._ledger, self._loaded_versions = {}, [], {}
        self._committed = True

    async def rollback(self) -> None:
        self._writes, self._ledger, self._loaded_versions = {}, [], {}
        self._after_commit = []
        for obj in self._seen:
            obj.events.clear()
        self._seen = []


class MemoryUnitOfWorkFactory:
    """``UnitOfWorkFactory`` and ``TransactionSubscribers``."""

    def __init__(self, store: MemoryStore, bus: EventBus) -> None:
        self.store, self.bus = store, bus
        self.handlers: list[TransactionHandler] = []

    def subscribe(self, handler: TransactionHandler) -> None:
        self.handlers.append(handler)

    def __call__(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store, self.bus, self.handlers)
