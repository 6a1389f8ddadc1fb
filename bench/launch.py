"""Run ``payport serve`` exactly as the CLI does, plus two bench-only additions (no service file is changed):

1. **Round-trip and GC counters.** ``aiopg.Cursor.execute`` (every SQL statement payport sends, BEGIN/COMMIT
   included; of them, the ``PREPARE``s, once per connection and statement shape; and the transactions,
   counted as tests/roundtrips.py does: a statement sent on a connection outside a transaction starts one) and Redis round trips (``redis.asyncio.Redis.execute_command`` outside pipelines, plus one per
   ``Pipeline.execute`` and one per ``adapters.redis.lean.Lean.call``) are counted in-process and served at ``GET /__bench/counters``; the transactions
   sent while a request is handled (``entrypoints.logs.REQUEST`` set: by its handler or a task it started)
   are counted apart from the background's (worker jobs, the event stream's consumers); the statements sent
   by a cached read's load from the origin (a miss, or a refill ahead of an entry's end: the render that
   ``entrypoints.http.cached`` hands the cache) are counted apart too, so a hit's own are what is left.
   The bench reads the counters before and after a scenario and divides by the requests served:
   *statements per request*.
2. **Demo stock.** The demo catalog has ~1,700 units in stock in total; a pay-path run creates thousands of
   orders, so the bench raises every demo product's stock to ``BENCH_STOCK`` (default 10^9) before the
   catalog is seeded. Prices, SKUs and every code path are unchanged.

Usage: python bench/launch.py serve --host 127.0.0.1 --port 18080   (any ``payport`` arguments)
Set BENCH_INSTRUMENT=0 to run the plain CLI (no counters, no stock change).
"""
from __future__ import annotations

import os
import sys

import contextvars

COUNTERS = {"db_statements": 0, "db_statements_in_cache_loads": 0, "db_transactions": 0,
            "db_transactions_in_requests": 0, "db_prepares": 0, "redis_roundtrips": 0, "gc_seconds": 0.0,
            "gc_full_collections": 0}
#: set while a cached read loads its entry from the origin (see ``_mark_cache_loads``)
LOADING: contextvars.ContextVar[bool] = contextvars.ContextVar("bench_cache_load", default=False)


def _time_gc() -> None:
    """Seconds spent in the garbage collector (and how many full collections), via gc.callbacks."""
    import gc
    import time

    started = [0.0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            COUNTERS["gc_seconds"] += time.perf_counter() - started[0]
            if info.get("generation") == 2:
                COUNTERS["gc_full_collections"] += 1

    gc.callbacks.append(callback)


def _instrument() -> None:
    try:
        import psycopg2.extensions
        from aiopg.connection import Cursor

        original, original_many = Cursor.execute, Cursor.executemany
        idle = psycopg2.extensions.TRANSACTION_STATUS_IDLE

        from entrypoints.logs import REQUEST

        def count(cur, sql) -> None:
            COUNTERS["db_statements"] += 1
            if LOADING.get():
                COUNTERS["db_statements_in_cache_loads"] += 1
            if cur.connection.raw.get_transaction_status() == idle:
                COUNTERS["db_transactions"] += 1
                if REQUEST.get() is not None:  # sent while a request was handled (or by a task it started)
                    COUNTERS["db_transactions_in_requests"] += 1
            if (sql.startswith(b"PREPARE ") if isinstance(sql, bytes) else str(sql).startswith("PREPARE ")):
                COUNTERS["db_prepares"] += 1

        async def execute(self, sql, *args, **kwargs):
            count(self, sql)
            return await original(self, sql, *args, **kwargs)

        async def executemany(self, sql, *args, **kwargs):
            count(self, sql)
            return await original_many(self, sql, *args, **kwargs)

        Cursor.execute, Cursor.executemany = execute, executemany
    except ImportError:  # pragma: no cover
        pass
    try:
        import redis.asyncio.client as rc

        plain = rc.Redis.execute_command
        piped = rc.Pipeline.execute
        pipe_cmd = rc.Pipeline.execute_command

        async def execute_command(self, *args, **options):
            COUNTERS["redis_roundtrips"] += 1
            return await plain(self, *args, **options)

        async def pipeline_execute(self, *args, **kwargs):
            COUNTERS["redis_roundtrips"] += 1
            return await piped(self, *args, **kwargs)

        rc.Redis.execute_command = execute_command
        rc.Pipeline.execute_command = pipe_cmd  # pipelines buffer: counted once at execute()
        rc.Pipeline.execute = pipeline_execute
    except ImportError:  # pragma: no cover
        pass
    try:
        from adapters.redis.lean import Lean  # the hot paths' batches: one round trip each

        batched = Lean.call

        async def lean_call(self, commands, *args, **kwargs):
            if self.lean:  # else sent as a redis-py pipeline, counted there
                COUNTERS["redis_roundtrips"] += 1
            return await batched(self, commands, *args, **kwargs)

        Lean.call = lean_call
    except ImportError:  # a tree from before adapters/redis/lean.py
        pass


def _mark_cache_loads() -> None:
    """Wrap the origin load of every cached read (``cached._entry``'s render, which ``fill`` and
    ``refresh`` hand the cache) so that its statements are counted as a load's."""
    import entrypoints.http.cached as cached

    original = cached._entry

    def entry(ctx, load, how):
        ttl, render = original(ctx, load, how)

        async def marked() -> bytes:
            token = LOADING.set(True)
            try:
                return await render()
            finally:
                LOADING.reset(token)
        return ttl, marked

    cached._entry = entry


def _raise_stock(stock: int) -> None:
    import adapters.demo as demo

    demo._PRODUCTS = [(sku, name, price, cur, stock, cat) for sku, name, price, cur, _s, cat in demo._PRODUCTS]


def _add_counter_route() -> None:
    import orjson
    from aiohttp import web

    import entrypoints.cli as cli

    create_app = cli.create_app

    async def counters(request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(COUNTERS | {"pid": os.getpid()}), content_type="application/json")

    def create_app_with_counters(container, **options):
        app = create_app(container, **options)
        app.router.add_get("/__bench/counters", counters)
        return app

    cli.create_app = create_app_with_counters


def main() -> int:
    if os.environ.get("BENCH_INSTRUMENT", "1") != "0":
        _instrument()
        _mark_cache_loads()
        _time_gc()
        _raise_stock(int(os.environ.get("BENCH_STOCK", 10**9)))
        _add_counter_route()
    from entrypoints.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
