"""The cache-invalidation journal's batched forget: applied entries are deleted once a second per
process, whichever request applied them first. The batch is the process's work, not that request's:
its warning carries no request id (and the bench counts its statement as background)."""
from __future__ import annotations

import logging

import psycopg2

from adapters.postgres import caching, db
from entrypoints.logs import REQUEST, RequestContext


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestContext())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _stage(pool, *ids: str) -> None:
    for entry_id in ids:
        await db.fetch(pool, "INSERT INTO cache_invalidations (id, keys, counters, created_at) "
                             "VALUES (%s, %s, %s, now()) RETURNING 1", [entry_id, ["k"], []])


async def _left(pool) -> list[str]:
    return [r["id"] for r in await db.fetch(pool, "SELECT id FROM cache_invalidations ORDER BY id")]


async def test_applied_entries_are_forgotten_in_one_batch_outside_the_request(pg_pool, monkeypatch):
    await db.fetch(pg_pool, "DELETE FROM cache_invalidations RETURNING 1")
    await _stage(pg_pool, "a", "b", "c")
    monkeypatch.setattr(caching, "FLUSH_SECONDS", 0)
    forget = caching.forgetter(pg_pool)
    token = REQUEST.set(("rid-1", "/api/v1/payment/refunds"))
    try:
        forget.add("a")
        forget.add("b")
        batch = forget.task
    finally:
        REQUEST.reset(token)
    await batch
    assert await _left(pg_pool) == ["c"]
    assert forget.task is None


async def test_a_failed_forget_is_logged_without_the_request_that_started_the_batch(pg_pool, monkeypatch):
    monkeypatch.setattr(caching, "FLUSH_SECONDS", 0)

    async def down(*args, **kwargs):
        raise psycopg2.OperationalError("server closed the connection unexpectedly")
    monkeypatch.setattr(caching.db, "fetch", down)
    records = _Records()
    logging.getLogger(caching.__name__).addHandler(records)
    try:
        forget = caching.forgetter(pg_pool)
        token = REQUEST.set(("rid-2", "/api/v1/payment/refunds"))
        try:
            forget.add("x")
            batch = forget.task
            logging.getLogger(caching.__name__).warning("inside the request")
        finally:
            REQUEST.reset(token)
        await batch
    finally:
        logging.getLogger(caching.__name__).removeHandler(records)
    inside, failed = records.records
    assert inside.request_id == "rid-2"
    assert "could not forget 1 applied cache invalidations" in failed.getMessage()
    assert getattr(failed, "request_id", None) is None
