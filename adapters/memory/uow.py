"""Memory unit of work: a MemorySession (copy-on-read, buffered writes applied at commit, one
writer at a time) with the repositories of every registered context."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.memory.registry import REPOSITORIES
from adapters.memory.session import MemorySession
from adapters.memory.store import MemoryStore
from adapters.unit_of_work import RepositoryFactory, TransactionalUnitOfWork
from application.ports import EventBus, TransactionHandler
from domain.events import DomainEvent


class MemoryUnitOfWork(TransactionalUnitOfWork):
    """Holds ``store.lock`` for its whole life, so it behaves as a serialisable transaction."""

    session: MemorySession

    def __init__(self, store: MemoryStore, bus: EventBus, handlers: Sequence[TransactionHandler] = (),
                 repositories: Mapping[str, RepositoryFactory] = REPOSITORIES) -> None:
        super().__init__(MemorySession(store), bus, handlers, repositories)

    async def _write(self, events: list[DomainEvent]) -> list[Any]:
        self.session.apply()
        return events

    async def _publish(self, outgoing: list[Any]) -> None:
        for event in outgoing:  # a failing bus fails the request: there is no outbox to fall back on
            await self.bus.publish(event)


class MemoryUnitOfWorkFactory:
    """``UnitOfWorkFactory`` and ``TransactionSubscribers``; ``repositories`` defaults to the registry."""

    def __init__(self, store: MemoryStore, bus: EventBus,
                 repositories: Mapping[str, RepositoryFactory] | None = None) -> None:
        self.store, self.bus = store, bus
        self.repositories = REPOSITORIES if repositories is None else repositories
        self.handlers: list[TransactionHandler] = []

    def subscribe(self, handler: TransactionHandler) -> None:
        self.handlers.append(handler)

    def __call__(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store, self.bus, self.handlers, self.repositories)
