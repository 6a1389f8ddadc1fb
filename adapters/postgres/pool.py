"""The aiopg connection pool as a dependency-injector ``providers.Resource`` (an async generator)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiopg
import psycopg2

from adapters.metrics import Metrics
from adapters.postgres.db import share_outages, unavailable, watch

log = logging.getLogger(__name__)


async def create_pool(dsn: str, minsize: int = 1, maxsize: int = 10, *, timeout: float = 30.0,
                      connect_timeout: float = 3.0, close_timeout: float = 10.0,
                      application_name: str = "payport", metrics: Metrics | None = None,
                      outages_of: aiopg.Pool | None = None) -> AsyncIterator[aiopg.Pool]:
    """Yield a started pool and close it afterwards.

    Fails fast: the first ``minsize`` connections are opened before yielding and each connection
    attempt gives up after ``connect_timeout`` seconds, raising ``DependencyUnavailable``.
    ``timeout`` bounds acquiring a connection and each statement. On shutdown, connections still
    in use after ``close_timeout`` seconds are terminated. An outage later is logged once per
    transition by the pool's tracker (``db.watch``), counted in ``metrics.dependency_outages``.

    ``outages_of``: another pool to the same database, whose tracker this one shares (the side
    pool's outage is the main pool's: one line down and one back for both).

    ``application_name`` names the pool's sessions in ``pg_stat_activity`` (``payport-replica`` for
    the read replica's).

    Use: ``providers.Resource(create_pool, dsn=config.database_url)``.
    """
    try:
        pool = await asyncio.wait_for(
            aiopg.create_pool(dsn, minsize=minsize, maxsize=maxsize, timeout=timeout,
                              connect_timeout=max(1, round(connect_timeout)), application_name=application_name,
                              enable_json=False),  # json is parsed by db.py's process-wide typecaster (orjson)
            timeout=connect_timeout + 1,
        )
    except (psycopg2.OperationalError, psycopg2.InterfaceError, TimeoutError, OSError) as exc:
        log.error("cannot connect to postgres: %s", exc)
        raise unavailable() from exc
    if outages_of is not None:
        share_outages(pool, outages_of)
    elif metrics is not None:
        watch(pool, on_down=lambda dependency: metrics.dependency_outages.labels(dependency=dependency).inc())
    try:
        yield pool
    finally:
        pool.close()
        try:
            await asyncio.wait_for(pool.wait_closed(), close_timeout)
        except TimeoutError:
            log.warning("postgres connections still busy after %ss: terminating them", close_timeout)
            pool.terminate()
            await pool.wait_closed()
