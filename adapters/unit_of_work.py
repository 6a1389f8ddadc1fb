"""What every unit of work does, whatever holds its data: build its repositories from a registry,
run the transaction handlers inside the transaction, publish the events after it, then the
after-commit actions; roll back unless ``commit()`` was called.

An adapter brings a *session* (its connection or buffer, one module below its repositories) and two
hooks: ``_write`` (store everything and commit) and ``_publish`` (hand the events to the bus).
"""
from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any, Protocol, Self

from application.errors import DependencyUnavailable
from application.ports import EventBus, TransactionHandler
from domain.events import DomainEvent

log = logging.getLogger(__name__)


class Session(Protocol):
    """One unit of work's access to its storage (the memory buffer, the Postgres connection)."""

    #: The aggregates loaded or added that record events, in the order first seen.
    seen: list[Any]

    async def open(self) -> None: ...
    async def close(self) -> None:
        """Give the lock or connection back (always called, last)."""
        ...
    async def rollback(self) -> None:
        """Drop every change not committed."""
        ...
    async def end_transaction(self) -> None:
        """After a commit: drop whatever was done after it."""
        ...


#: Builds one repository on a unit of work's session (each context's module maps names to these).
RepositoryFactory = Callable[[Any], object]


def merge_repositories(contexts: Iterable[ModuleType]) -> dict[str, RepositoryFactory]:
    """The ``REPOSITORIES`` of every context module, in one map (a name claimed twice is an error)."""
    merged: dict[str, RepositoryFactory] = {}
    for module in contexts:
        for name, factory in module.REPOSITORIES.items():
            if name in merged:
                raise ValueError(f"two contexts register a repository named {name!r} ({module.__name__})")
            merged[name] = factory
    return merged


async def run_after_commit(actions: list[Callable[[], Awaitable[None]]]) -> None:
    """Run each action in order: the change is committed whatever they do, so a failure is logged."""
    for action in actions:
        try:
            await action()
        except DependencyUnavailable:  # an outage: logged once by its dependency's tracker
            continue
        except Exception:  # noqa: BLE001
            log.exception("an after-commit action failed")


class TransactionalUnitOfWork(abc.ABC):
    """The ``UnitOfWork`` port's life cycle; the repositories are attributes named by the registry."""

    def __init__(self, session: Session, bus: EventBus, handlers: Sequence[TransactionHandler],
                 repositories: Mapping[str, RepositoryFactory]) -> None:
        self.session = session
        self.bus = bus
        self.handlers = handlers
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self._outgoing: list[Any] = []
        self._committed = False
        self._repositories = repositories

    def __getattr__(self, name: str) -> Any:
        """A repository, made on first use (a unit of work touches a few of the 23): it is
        then an attribute like any other, and the next use does not come here."""
        factory = self.__dict__.get("_repositories", {}).get(name)
        if factory is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        repository = factory(self.session)
        setattr(self, name, repository)
        return repository

    @abc.abstractmethod
    async def _write(self, events: list[DomainEvent]) -> list[Any]:
        """Store every change (and ``events``, where the adapter keeps them) and commit; return what
        ``_publish`` sends once the session is closed."""

    @abc.abstractmethod
    async def _publish(self, outgoing: list[Any]) -> None:
        """Hand what ``_write`` returned to the bus (after the lock or connection is released)."""

    async def __aenter__(self) -> Self:
        await self.session.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if not self._committed:
                await self.rollback()
            else:
                await self.session.end_transaction()  # statements after commit() are discarded
        finally:
            await self.session.close()
        outgoing, self._outgoing = self._outgoing, []
        await self._publish(outgoing)  # handlers of published events open units of work of their own
        actions, self._after_commit = self._after_commit, []
        await run_after_commit(actions)

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(action)

    async def commit(self) -> None:
        seen = self.session.seen
        raised = [event for obj in seen for event in obj.events]
        for handler in self.handlers:  # in this transaction: what they write commits with the change
            await handler(self, raised)
        events = [event for obj in seen for event in obj.events]
        for obj in seen:  # events leave the aggregates before they are stored: published once
            obj.events.clear()
        self._outgoing.extend(await self._write(events))
        self._committed = True

    async def rollback(self) -> None:
        await self.session.rollback()
        self._after_commit = []
        for obj in self.session.seen:
            obj.events.clear()
        self.session.seen.clear()
