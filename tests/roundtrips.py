"""A test-only instrument: the Postgres statements, Postgres transactions and Redis round trips a
piece of code makes, counted at the drivers (nothing in the service is changed).

- **statements**: every ``aiopg`` ``Cursor.execute`` / ``executemany``, i.e. every round trip to
  Postgres (``BEGIN; SELECT ...`` sent as one text is one; a ``PREPARE`` is one).
- **transactions**: every statement sent on a connection that was idle (outside a transaction)
  starts one: an autocommit statement on its own, or an explicit ``BEGIN ...``. Statements sent
  inside an open transaction (the ``COMMIT`` included) start none. This is what
  ``pg_stat_database.xact_commit + xact_rollback`` counts on the server, counted per connection.
- **redis**: every ``redis.asyncio.Redis.execute_command`` outside a pipeline, plus one per
  ``Pipeline.execute`` (a pipeline is one round trip) and per ``adapters.redis.lean.Lean.call``
  (a batch sent in one write); pub/sub traffic (the in-process tier's
  listener) is not counted: it is not part of any request.

Use: ``with roundtrips.counting() as seen: ...``; then ``seen.statements``, ``seen.transactions``,
``seen.redis`` (and ``seen.sql``: each statement's text, for the failure message).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import attrs
import psycopg2.extensions
from aiopg.connection import Cursor
from redis.asyncio import client as redis_client

from adapters.redis.lean import Lean

IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE


@attrs.define
class Seen:
    statements: int = 0
    transactions: int = 0
    redis: int = 0
    #: of the statements (and transactions), the ``PREPARE`` of a statement shape on a connection
    #: that had not seen it yet: once per connection and shape, not per request
    prepares: int = 0
    idle_prepares: int = 0  #: of those, the ones sent outside a transaction (each one of its own)
    sql: list[str] = attrs.field(factory=list)
    commands: list[str] = attrs.field(factory=list)

    def counts(self) -> dict[str, int]:
        """Per request in steady state: the one-off ``PREPARE`` round trips left out."""
        return {"statements": self.statements - self.prepares, "transactions": self.transactions - self.idle_prepares,
                "redis": self.redis}


@contextlib.contextmanager
def counting() -> Iterator[Seen]:
    seen = Seen()
    execute, executemany = Cursor.execute, Cursor.executemany
    plain, piped, batched = redis_client.Redis.execute_command, redis_client.Pipeline.execute, Lean.call

    def statement(cur, sql) -> None:
        seen.statements += 1
        text = sql.decode() if isinstance(sql, bytes) else str(sql)
        seen.sql.append(text[:160])
        idle = cur.connection.raw.get_transaction_status() == IDLE
        if text.startswith("PREPARE "):
            seen.prepares += 1
            seen.idle_prepares += idle
        seen.transactions += idle

    async def counted_execute(self, operation, *args, **kwargs):
        statement(self, operation)
        return await execute(self, operation, *args, **kwargs)

    async def counted_executemany(self, operation, *args, **kwargs):
        statement(self, operation)
        return await executemany(self, operation, *args, **kwargs)

    async def counted_command(self, *args, **options):
        seen.redis += 1
        seen.commands.append(str(args[0]) if args else "?")
        return await plain(self, *args, **options)

    async def counted_pipeline(self, *args, **kwargs):
        seen.redis += 1
        seen.commands.append("pipeline[" + ",".join(str(c[0][0]) for c in self.command_stack) + "]")
        return await piped(self, *args, **kwargs)

    async def counted_batch(self, commands, *args, **kwargs):
        if not self.lean:  # sent as a redis-py pipeline: counted there
            return await batched(self, commands, *args, **kwargs)
        seen.redis += 1
        names = [str(c[0]) for c in commands]
        seen.commands.append(names[0] if len(names) == 1 else "pipeline[" + ",".join(names) + "]")
        return await batched(self, commands, *args, **kwargs)

    Cursor.execute, Cursor.executemany = counted_execute, counted_executemany
    Lean.call = counted_batch
    redis_client.Redis.execute_command = counted_command
    redis_client.Pipeline.execute = counted_pipeline
    try:
        yield seen
    finally:
        Cursor.execute, Cursor.executemany = execute, executemany
        redis_client.Redis.execute_command = plain
        redis_client.Pipeline.execute = piped
        Lean.call = batched
