"""Connection helpers shared by the Postgres adapters: acquiring from the pool and turning driver
errors into application errors (unique violation -> AlreadyExists, lost connection ->
DependencyUnavailable, deadlock/serialization failure -> ConcurrencyConflict, the refunds' guard ->
RefundExceedsCaptured, any other integrity violation -> ConstraintViolated: no raw driver error
escapes a repository).

An outage (no connection within the pool's timeout, a refused or terminated connection) is
reported to the pool's ``OutageTracker``: one line when it starts, rate-limited reminders, one line
when a statement works again; never a traceback per request (the request itself answers 503)."""
from __future__ import annotations

import asyncio
import codecs
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiopg
import orjson
import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

from application.errors import AlreadyExists, ConcurrencyConflict, ConstraintViolated, DependencyUnavailable
from application.outages import OutageTracker
from domain.errors import RefundExceedsCaptured

log = logging.getLogger("payport.postgres")
IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE
IN_ERROR = psycopg2.extensions.TRANSACTION_STATUS_INERROR


# ``json`` values (never a stored column: only the aggregates our own SQL builds from typed columns,
# such as an order's items and history) are parsed by orjson, several times the standard library's
# speed. ``jsonb`` documents stay with the standard library: they can hold what a client sent, and
# orjson reads an integer beyond 64 bits as a float, which json reads exactly.
psycopg2.extras.register_default_json(loads=orjson.loads, globally=True)


def json_text(value: Any) -> str:
    """``value`` as JSON text for a ``jsonb`` parameter (the outbox's events, the deliveries' and the
    merchant webhooks' payloads). orjson writes it several times faster than ``json.dumps``
    (1-3% of a refund's CPU was the standard library's encoder), and Postgres stores the same
    document from either text (``jsonb`` keeps no formatting; a NaN or an infinity, which
    ``json.dumps`` wrote as ``NaN``/``Infinity`` and ``jsonb`` refused, is null). What orjson does not take (an integer beyond 64
    bits, a string that is not valid Unicode) is left to ``json.dumps``, as before."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


# psycopg2 decodes column values in C, but the column names of every result (two strings a column)
# and its messages through the connection's Python codec, ``encodings.utf_8.decode``: a Python call
# each: 2.3% of an uncached order detail's instructions. The same codec's C functions, called directly, for
# connections opened from now on. (Called with two arguments, ``utf_8_decode`` leaves an incomplete
# sequence at the very end undecoded where the wrapper would write U+FFFD: what Postgres sends of a
# UTF8 database is whole characters.)
_UTF8 = "payport_utf8"


def _utf8_codec(name: str) -> codecs.CodecInfo | None:
    if name != _UTF8:
        return None
    return codecs.CodecInfo(codecs.utf_8_encode, codecs.utf_8_decode, name=_UTF8)


codecs.register(_utf8_codec)
psycopg2.extensions.encodings["UTF8"] = _UTF8


class TransactionAborted(RuntimeError):
    """A statement failed earlier in this transaction; Postgres discards everything it did."""


def unavailable() -> DependencyUnavailable:
    return DependencyUnavailable("database unavailable", dependency="postgres")


# -- outages: one tracker per pool (a process's view of its database) -----------------------------
DEPENDENCY = "postgres"
CONSEQUENCE = "requests that need it answer 503"
_trackers: weakref.WeakKeyDictionary[aiopg.Pool, OutageTracker] = weakref.WeakKeyDictionary()
#: the pool each connection handed out came from (a statement's failure is its pool's outage)
_pools: weakref.WeakKeyDictionary[aiopg.Connection, aiopg.Pool] = weakref.WeakKeyDictionary()


def watch(pool: aiopg.Pool, on_down: Callable[[str], None] | None = None, interval: float = 30.0) -> OutageTracker:
    """The pool's outage tracker, made anew (``on_down``: the metrics' outage counter). It keeps
    ``time.monotonic``: ``run`` dates each statement's start on it."""
    tracker = _trackers[pool] = OutageTracker(log, interval=interval, on_down=on_down, clock=time.monotonic)
    return tracker


def share_outages(pool: aiopg.Pool, with_pool: aiopg.Pool) -> OutageTracker:
    """``pool`` reports its outages to ``with_pool``'s tracker (two pools to one database)."""
    tracker = _trackers[pool] = outages(with_pool)
    return tracker


def outages(pool: aiopg.Pool) -> OutageTracker:
    tracker = _trackers.get(pool)
    return tracker if tracker is not None else watch(pool)


def _down(pool: aiopg.Pool | None, cause: BaseException) -> DependencyUnavailable:
    if pool is not None:
        outages(pool).failed(DEPENDENCY, cause, CONSEQUENCE)
    return unavailable()


def translate(exc: BaseException) -> Exception | None:
    """The application error for a driver error, or None when it is a bug to surface as is."""
    if isinstance(exc, psycopg2.errors.UniqueViolation):
        diag = getattr(exc, "diag", None)
        return AlreadyExists("a row with the same unique key exists",
                             constraint=getattr(diag, "constraint_name", None))
    if isinstance(exc, psycopg2.extensions.TransactionRollbackError):
        return ConcurrencyConflict("the database aborted the transaction (deadlock or serialization failure)")
    if isinstance(exc, psycopg2.IntegrityError):  # a check, a foreign key, not null, the guard triggers
        constraint = getattr(getattr(exc, "diag", None), "constraint_name", None)
        if constraint == "refunds_within_captured":
            return RefundExceedsCaptured("the refunds of this payment would exceed what was captured")
        log.warning("a database constraint refused a change: %s (SQLSTATE %s)", constraint, exc.pgcode)
        return ConstraintViolated("a database constraint refused the change", constraint=constraint)
    if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError, TimeoutError)):
        return unavailable()
    return None


#: One FIFO gate per pool, as many places as the pool has connections. aiopg's own wait lets a newcomer
#: take a connection released while an earlier waiter is still being woken, so under load a few
#: requests starve (checkout initiate at 64 connections: p99 0.8-2.2 s at a p50 of 22 ms); behind
#: the gate they are served in arrival order and ``pool.acquire`` itself never waits.
_gates: weakref.WeakKeyDictionary[aiopg.Pool, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _gate(pool: aiopg.Pool) -> asyncio.Semaphore:
    gate = _gates.get(pool)
    if gate is None:
        gate = _gates[pool] = asyncio.Semaphore(pool.maxsize or 10)
    return gate


#: How many closed connections ``acquire`` takes from aiopg (and drops) before it gives up.
STALE_RETRIES = 3


async def acquire(pool: aiopg.Pool) -> aiopg.Connection:
    """A connection from ``pool``, first come first served; DependencyUnavailable when none can be
    had in the pool's timeout."""
    gate = _gate(pool)
    if gate.locked():  # every connection is out: wait in line, within the pool's timeout
        try:
            async with asyncio.timeout(pool.timeout):
                await gate.acquire()
        except TimeoutError as exc:
            raise _down(pool, TimeoutError(f"no connection free within {pool.timeout:g}s")) from exc
    else:
        await gate.acquire()  # a place is free: taken at once (no await in between), nothing to time
    try:
        for attempt in range(STALE_RETRIES + 1):
            try:
                conn = await pool.acquire()
                break
            except AssertionError:
                # aiopg handed out a connection the server closed while the pool was being filled
                # (``assert not conn.closed``): it is out of the pool now; take another
                if attempt == STALE_RETRIES:
                    raise _down(pool, ConnectionError("the pool handed out closed connections only")) from None
    except BaseException as exc:
        gate.release()
        if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError, TimeoutError, OSError)):
            raise _down(pool, exc) from exc
        raise
    _pools[conn] = pool
    return conn


async def release(pool: aiopg.Pool, conn: aiopg.Connection) -> None:
    """Give ``conn`` back; a connection left inside a transaction is closed rather than reused."""
    try:
        if not conn.closed and conn.raw.get_transaction_status() != IDLE:
            conn.close()
        await pool.release(conn)
    finally:
        _gate(pool).release()


def _mapped(cur: aiopg.Cursor, exc: Exception) -> Exception | None:
    """``translate(exc)``; an outage is reported to the cursor's pool's tracker."""
    mapped = translate(exc)
    if isinstance(mapped, DependencyUnavailable):
        mapped = _down(_pools.get(cur.connection), exc)
    return mapped


def lost_connection(pool: aiopg.Pool, exc: BaseException) -> bool:
    """True (and reported to the pool's tracker) when ``exc`` is the database being unreachable."""
    if isinstance(exc, Exception) and isinstance(translate(exc), DependencyUnavailable):
        _down(pool, exc)
        return True
    return False


async def run(cur: aiopg.Cursor, sql: str, params: Any = None) -> None:
    started = time.monotonic()
    try:
        await cur.execute(sql, params)
    except Exception as exc:
        mapped = _mapped(cur, exc)
        if mapped is not None:
            raise mapped from exc
        raise
    pool = _pools.get(cur.connection)
    if pool is not None:
        outages(pool).recovered(DEPENDENCY, started)  # nothing to do unless it was down


async def fetch_rows(cur: aiopg.Cursor) -> list[dict[str, Any]]:
    """The rows of the statement ``run`` sent on ``cur`` (a connection lost meanwhile, whose cursor
    is closed under us, is an outage like any other)."""
    return rows(cur, await read(cur))


async def read(cur: aiopg.Cursor, one: bool = False) -> Any:
    """``fetchall()`` (or ``fetchone()``), with a driver error mapped as ``run`` maps it: a connection
    that died after the statement was sent (``cursor already closed``) is DependencyUnavailable."""
    try:
        return await (cur.fetchone() if one else cur.fetchall())
    except Exception as exc:
        mapped = _mapped(cur, exc)
        if mapped is not None:
            raise mapped from exc
        raise


def rows(cur: aiopg.Cursor, fetched: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    names = [d.name for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in fetched]


@asynccontextmanager
async def cursor(pool: aiopg.Pool) -> AsyncIterator[aiopg.Cursor]:
    """A cursor on a pooled connection in autocommit mode (issue BEGIN/COMMIT for a transaction)."""
    conn = await acquire(pool)
    try:
        cur = await conn.cursor()
        try:
            yield cur
        finally:
            cur.close()
    finally:
        await release(pool, conn)


async def fetch(pool: aiopg.Pool, sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Run one autocommit query and return its rows as dicts."""
    async with cursor(pool) as cur:
        await run(cur, sql, params)
        return await fetch_rows(cur)
