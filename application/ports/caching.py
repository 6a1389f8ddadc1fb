"""The cache-invalidation journal: what a commit made stale, written with that commit, so that an
invalidation lost to a Redis blip or a crash is replayed (as the outbox replays events)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs

from application.ports.repositories import UnitOfWork


@attrs.frozen
class StagedInvalidation:
    """The keys a committed change makes stale, and the counters (generations, group versions) it bumps."""

    id: str
    keys: tuple[str, ...]
    counters: tuple[str, ...]
    created_at: datetime


class InvalidationJournalRepository(Protocol):
    """``uow.cache_journal``: staged invalidations written with the unit of work's commit."""

    async def record(self, entry: StagedInvalidation) -> None:
        """Written with the commit (in its round trip where the adapter can); gone if it rolls back."""
        ...

    def applied(self, entry_id: str) -> None:
        """The invalidation reached the cache: forget the entry (soon, in a batch; never awaited)."""
        ...


class CachingUnitOfWork(UnitOfWork, Protocol):
    cache_journal: InvalidationJournalRepository


class InvalidationJournal(Protocol):
    """The replayer's side: entries no process confirmed, and forgetting them once replayed."""

    async def unapplied(self, *, older_than: datetime, limit: int) -> list[StagedInvalidation]: ...
    async def forget(self, ids: Sequence[str]) -> None: ...
