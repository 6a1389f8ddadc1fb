"""Postgres unit of work: a PostgresSession (one pooled connection, one explicit transaction, an
identity map with optimistic version checks) with the repositories of every registered context,
and the domain events written to the outbox in the same transaction."""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import aiopg

from adapters.postgres.outbox import mark_published, outbox_insert
from adapters.postgres.registry import REPOSITORIES
from adapters.postgres.session import PostgresSession
from adapters.unit_of_work import RepositoryFactory, TransactionalUnitOfWork
from application.errors import DependencyUnavailable
from application.ports import EventBus, TransactionHandler
from domain.events import DomainEvent

log = logging.getLogger(__name__)


class PostgresUnitOfWork(TransactionalUnitOfWork):
    """One transaction on one connection; without ``commit()`` everything is rolled back.

    ``save`` raises ConcurrencyConflict when another transaction changed the row first. On commit
    the events of every aggregate loaded or added are inserted into ``outbox`` in the same
    transaction (with the deferred writes and the COMMIT, in one round trip), then published after
    the connection is released and their outbox rows marked published (leftovers go through
    ``OutboxRelay``).
    """

    session: PostgresSession

    def __init__(self, pool: aiopg.Pool, bus: EventBus, handlers: Sequence[TransactionHandler] = (),
                 prepare: bool = True, repositories: Mapping[str, RepositoryFactory] = REPOSITORIES) -> None:
        self.pool = pool
        super().__init__(PostgresSession(pool, prepare), bus, handlers, repositories)

    async def _write(self, events: list[DomainEvent]) -> list[Any]:
        delivered = [self.bus.delivers(event) for event in events]
        sql, params, ids = outbox_insert(events, published=[not d for d in delivered])
        await self.session.commit(sql, params)
        return [(i, e) for i, e, d in zip(ids, events, delivered, strict=True) if d]

    async def _publish(self, outgoing: list[tuple[Any, Any]]) -> None:
        published = []
        for outbox_id, event in outgoing:
            try:
                await self.bus.publish(event)
            except DependencyUnavailable:  # the bus is down (its tracker logs the outage once): the relay delivers
                break
            except Exception:  # the relay delivers this one and the rest, in order
                log.exception("publishing %s failed; left to the outbox relay", event.name)
                break
            published.append(outbox_id)
        await mark_published(self.pool, published)


class PostgresUnitOfWorkFactory:
    """``UnitOfWorkFactory`` (a new PostgresUnitOfWork per call, never shared between requests) and
    ``TransactionSubscribers``; ``repositories`` defaults to the registry."""

    def __init__(self, pool: aiopg.Pool, bus: EventBus, prepare: bool = True,
                 repositories: Mapping[str, RepositoryFactory] | None = None) -> None:
        self.pool, self.bus, self.prepare = pool, bus, prepare
        self.repositories = REPOSITORIES if repositories is None else repositories
        self.handlers: list[TransactionHandler] = []

    def subscribe(self, handler: TransactionHandler) -> None:
        self.handlers.append(handler)

    def __call__(self) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self.pool, self.bus, self.handlers, self.prepare, self.repositories)
