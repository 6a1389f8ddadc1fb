"""The cache-invalidation journal in Postgres (``cache_invalidations``).

An entry is inserted with the commit of the change it describes (a deferred write: no round trip
of its own). The process that committed applies it to the cache right after, and then forgets it:
forgotten ids are batched per pool and deleted in one statement every ``FLUSH_SECONDS``, so a
write costs no extra transaction. An entry nobody forgot (Redis failed, the process died) is
replayed by the worker's job and deleted then. Replaying twice is harmless: an invalidation only
bumps counters and drops keys.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import Callable, Sequence

import aiopg

from adapters.postgres import db
from adapters.postgres.session import PostgresSession
from application.ports.caching import StagedInvalidation

log = logging.getLogger(__name__)
TABLES = ("cache_invalidations",)
FLUSH_SECONDS = 1.0

_INSERT = ("INSERT INTO cache_invalidations (id, keys, counters, created_at) "
           "VALUES (%(id)s, %(keys)s, %(counters)s, %(created_at)s) ON CONFLICT DO NOTHING")


class _Forgetter:
    """Ids applied in this process, deleted in batches (one statement per ``FLUSH_SECONDS``)."""

    def __init__(self, pool: aiopg.Pool) -> None:
        self.pool, self.ids, self.task = pool, [], None

    def add(self, entry_id: str) -> None:
        self.ids.append(entry_id)
        if self.task is None:
            # the batch is the process's, not the request's that happened to start it: run it in a
            # fresh context, so its statement and any warning it logs carry no request id
            self.task = asyncio.get_running_loop().create_task(self._flush_later(), context=contextvars.Context())

    async def _flush_later(self) -> None:
        try:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush()
        finally:
            self.task = None

    async def flush(self) -> None:
        ids, self.ids = self.ids, []
        if not ids:
            return
        try:
            await db.fetch(self.pool, "DELETE FROM cache_invalidations WHERE id = ANY(%s) RETURNING 1", [ids])
        except Exception:  # noqa: BLE001 - the replayer deletes them after applying them again
            log.warning("could not forget %d applied cache invalidations; they will be replayed", len(ids))


_forgetters: weakref.WeakKeyDictionary[aiopg.Pool, _Forgetter] = weakref.WeakKeyDictionary()


def forgetter(pool: aiopg.Pool) -> _Forgetter:
    found = _forgetters.get(pool)
    if found is None:
        found = _forgetters[pool] = _Forgetter(pool)
    return found


class PostgresCacheJournal:
    """``uow.cache_journal``."""

    def __init__(self, session: PostgresSession) -> None:
        self.session = session

    async def record(self, entry: StagedInvalidation) -> None:
        self.session.defer(_INSERT, {"id": entry.id, "keys": list(entry.keys), "counters": list(entry.counters),
                                     "created_at": entry.created_at})

    def applied(self, entry_id: str) -> None:
        forgetter(self.session.pool).add(entry_id)


class PostgresInvalidationJournal:
    """The replayer's side."""

    def __init__(self, pool: aiopg.Pool) -> None:
        self.pool = pool

    async def unapplied(self, *, older_than, limit: int) -> list[StagedInvalidation]:
        rows = await db.fetch(self.pool, "SELECT id, keys, counters, created_at FROM cache_invalidations "
                                         "WHERE created_at < %s ORDER BY created_at, id LIMIT %s", [older_than, limit])
        return [StagedInvalidation(r["id"], tuple(r["keys"]), tuple(r["counters"]), r["created_at"]) for r in rows]

    async def forget(self, ids: Sequence[str]) -> None:
        if ids:
            await db.fetch(self.pool, "DELETE FROM cache_invalidations WHERE id = ANY(%s) RETURNING 1", [list(ids)])


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"cache_journal": PostgresCacheJournal}
