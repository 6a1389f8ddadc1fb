"""Idempotency keys in Postgres, with the memory store's semantics (``adapters/memory/infrastructure.py``).

A key is (scope, key). ``begin`` inserts it (``ON CONFLICT DO NOTHING``, one statement) and, when
it existed, reads it ``FOR UPDATE`` in a transaction, so two concurrent requests with one key
cannot both own it. Times come from the injected clock (like the memory store), so tests can move them.
"""
from __future__ import annotations

from datetime import timedelta

import aiopg

from adapters.postgres import db
from application.ports import Clock, IdempotencyBegin, StoredResponse

#: The table this store keeps (emptied with the others by the tests).
TABLES = ("idempotency_keys", "idempotency_keys_expired")

#: Completed keys are kept at least this long (DESIGN.md: replayable for 24 h).
MIN_RETENTION_SECONDS = 86400

_COMPLETE = ("UPDATE idempotency_keys SET status = %s, content_type = %s, body = %s, completed_at = %s, "
             "locked_at = NULL WHERE scope = %s AND key = %s")


class PostgresIdempotencyStore:
    """``IdempotencyStore`` over the ``idempotency_keys`` table (responses stored as bytea)."""

    def __init__(self, pool: aiopg.Pool, clock: Clock) -> None:
        self.pool, self.clock = pool, clock

    async def begin(self, scope: str, key: str, fingerprint: str, lock_timeout: float) -> IdempotencyBegin:
        now = self.clock.now()
        async with db.cursor(self.pool) as cur:  # on error, db.release drops the open transaction
            return await self._begin(cur, scope, key, fingerprint, lock_timeout, now)

    async def _begin(self, cur, scope, key, fingerprint, lock_timeout, now) -> IdempotencyBegin:
        while True:  # the claim is one statement, atomic on its own (autocommit): one round trip
            await db.run(cur, "INSERT INTO idempotency_keys (scope, key, fingerprint, locked_at, "
                              "created_at) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                         (scope, key, fingerprint, now, now))
            if cur.rowcount:
                return IdempotencyBegin("new")
            await db.run(cur, "BEGIN; SELECT fingerprint, locked_at, recovery_point, status, content_type, body "
                              "FROM idempotency_keys WHERE scope = %s AND key = %s FOR UPDATE", (scope, key))
            row = await db.read(cur, one=True)
            if row is not None:
                break
            await db.run(cur, "COMMIT")  # reaped in between: insert it again
        stored_fp, locked_at, point, status, content_type, body = row
        if stored_fp != fingerprint:
            result = IdempotencyBegin("mismatch")
        elif status is not None:
            result = IdempotencyBegin("replay", StoredResponse(status, content_type, bytes(body)))
        elif locked_at is not None and (now - locked_at).total_seconds() < lock_timeout:
            result = IdempotencyBegin("in_flight")
        else:  # the holder died or released it: take over from its recovery point
            await db.run(cur, "UPDATE idempotency_keys SET locked_at = %s WHERE scope = %s AND key = %s",
                         (now, scope, key))
            result = IdempotencyBegin("new", recovery_point=point)
        await db.run(cur, "COMMIT")
        return result

    async def _update(self, sql: str, params: tuple, scope: str, key: str, *, must_exist: bool) -> None:
        async with db.cursor(self.pool) as cur:
            await db.run(cur, sql, params)
            if must_exist and not cur.rowcount:
                raise KeyError((scope, key))

    async def set_recovery_point(self, scope: str, key: str, point: str) -> None:
        await self._update("UPDATE idempotency_keys SET recovery_point = %s WHERE scope = %s AND key = %s",
                           (point, scope, key), scope, key, must_exist=True)

    async def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        await self._update(_COMPLETE, (response.status, response.content_type, response.body, self.clock.now(),
                            scope, key), scope, key, must_exist=True)

    def complete_with(self, uow, scope: str, key: str, response: StoredResponse) -> None:
        """The answer's ``UPDATE`` sent with ``uow``'s COMMIT (its deferred writes: no round trip of
        its own): the answer is stored if and only if the change it reports is committed."""
        sql, params = _COMPLETE, (response.status, response.content_type, response.body, self.clock.now(), scope, key)
        session = getattr(uow, "session", None)
        if hasattr(session, "defer"):
            session.defer(sql, params)
        else:  # a unit of work on another store: stored once it commits (a crash in between: the lock lapses)
            uow.after_commit(lambda: self.complete(scope, key, response))

    async def release(self, scope: str, key: str) -> None:
        await self._update("UPDATE idempotency_keys SET locked_at = NULL WHERE scope = %s AND key = %s",
                           (scope, key), scope, key, must_exist=False)

    async def extend(self, scope: str, key: str) -> None:
        await self._update("UPDATE idempotency_keys SET locked_at = %s WHERE scope = %s AND key = %s "
                           "AND locked_at IS NOT NULL AND status IS NULL", (self.clock.now(), scope, key),
                           scope, key, must_exist=False)

    async def reap(self, older_than_seconds: float = MIN_RETENTION_SECONDS) -> int:
        """Move keys completed more than ``older_than_seconds`` ago (at least 24 h) out of the live
        table, into ``idempotency_keys_expired`` (partitioned by day, dropped after 7 days: what
        answered and when, not the body); return how many. Keys never completed are kept: their
        recovery point is what makes a late retry safe."""
        if older_than_seconds < MIN_RETENTION_SECONDS:
            raise ValueError(f"completed keys are kept at least {MIN_RETENTION_SECONDS} seconds")
        cutoff = self.clock.now() - timedelta(seconds=older_than_seconds)
        async with db.cursor(self.pool) as cur:
            await db.run(cur, "WITH reaped AS (DELETE FROM idempotency_keys WHERE completed_at < %s RETURNING scope, "
                              "key, fingerprint, status, content_type, created_at, completed_at) "
                              "INSERT INTO idempotency_keys_expired (scope, key, fingerprint, status, content_type, "
                              "created_at, completed_at) SELECT * FROM reaped", (cutoff,))
            return cur.rowcount
