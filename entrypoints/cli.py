"""The ``payport`` command: serve, migrate, worker, reconcile, partitions, config."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import sys

from aiohttp import web

import container as composition
from entrypoints import logs
from entrypoints.http.app import create_app
from entrypoints.settings import SettingsError, load_settings, startup_refusals
from entrypoints.wiring import resolve
from entrypoints.worker import Worker, registered_jobs

log = logging.getLogger("payport")


def _serve(args: argparse.Namespace) -> int:
    overrides = {key: value for key, value in (("host", args.host), ("port", args.port)) if value}
    settings = _startable(load_settings(os.environ, overrides))  # PAYPORT_PUBLIC_URL defaults to http://HOST:PORT
    c = composition.container_for(settings)
    if settings.storage_backend == "memory":
        log.warning("storage: in-memory (embedded default). Nothing is kept across restarts; "
                    "set DATABASE_URL and REDIS_URL for real storage.")
    else:
        log.info("storage: postgres; cache/sessions/limits: %s", settings.kv)
    if settings.ephemeral_jwt_secret:
        log.warning("PAYPORT_JWT_SECRET is not set: tokens are signed with a random key and die with this process")
    enabled = sorted(name for name, gateway in settings.gateways.items() if gateway.enabled)
    log.info("gateways: %s", ", ".join([*enabled, *(["sandbox"] if settings.sandbox_enabled else [])]) or "none")
    host, port = settings.http.host, settings.http.port
    workers = args.workers or 1
    if workers > 1 and settings.storage_backend == "memory":
        log.error("--workers %d needs DATABASE_URL (and REDIS_URL): the embedded default's data lives in one "
                  "process", workers)
        return 2
    log.info("payport on http://%s:%s  (docs: /docs)%s", host, port, f", {workers} processes" if workers > 1 else "")
    if os.environ.get("PAYPORT_UVLOOP", "on") != "off":
        try:
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        except ImportError:
            log.info("uvloop is not installed: using the standard asyncio loop")
    if settings.embedded_worker_enabled:
        log.info("the worker's jobs run in %s (PAYPORT_EMBEDDED_WORKER=%s)",
                 "each process" if workers > 1 else "this process", settings.worker.embedded)
    if workers == 1:
        _run_one(c, host, port, reuse_port=False, jobs=settings.embedded_worker_enabled)
        return 0
    children = []
    for _ in range(workers - 1):  # forked before any loop or connection exists: each builds its own
        pid = os.fork()
        if pid == 0:
            try:
                _run_one(composition.container_for(settings), host, port, reuse_port=True,
                         jobs=settings.embedded_worker_enabled)
            finally:
                os._exit(0)
        children.append(pid)
    try:
        _run_one(c, host, port, reuse_port=True, jobs=settings.embedded_worker_enabled)
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    return 0


def _run_one(c, host: str, port: int, reuse_port: bool, jobs: bool = False) -> None:
    """One serving process; with ``reuse_port`` several share the port (the kernel spreads the
    connections among them: SO_REUSEPORT); with ``jobs`` it runs the worker's jobs too."""
    app = create_app(c, jobs=jobs)
    app.on_startup.append(_settle_gc)  # after the container's own start-up: all that lives for good exists now
    web.run_app(app, host=host, port=port, print=None, access_log=None, reuse_port=reuse_port or None)


async def _settle_gc(app: web.Application) -> None:
    """What start-up built (modules, the container, the demo catalog) lives as long as the process:
    freeze it out of the collector's sight, and collect the young generation less often. The
    collector took 4-8% of the server's CPU on the write paths (bench/RESULTS.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def _migrate(args: argparse.Namespace) -> int:
    from adapters.postgres.migrate import migrate

    dsn = load_settings().storage.database_url
    if not dsn:
        log.error("DATABASE_URL is not set: the embedded default has no schema to migrate")
        return 2
    applied = asyncio.run(migrate(dsn, progress=_progress(
        lambda done, total, name: f"migrate: {done}/{total} {name}")))
    _progress_done()
    log.info("migrations applied: %s", ", ".join(applied) if applied else "none (up to date)")
    return 0


def _progress(line, stream=None):
    """A progress callback that rewrites one line of a terminal's stderr, or None off a terminal
    (logs and pipes get the summary line only)."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    def show(*args) -> None:
        stream.write("\r\x1b[2K" + line(*args)[:200])
        stream.flush()
    return show


def _progress_done(stream=None) -> None:
    stream = stream or sys.stderr
    if stream.isatty():
        stream.write("\r\x1b[2K")
        stream.flush()


def _config(args: argparse.Namespace) -> int:
    """The effective configuration (environment and defaults), secrets masked."""
    print(json.dumps(load_settings().describe(), indent=2))
    return 0


def _startable(settings):
    """``settings``, unless a process must not start with them (SettingsError says why)."""
    refusals = startup_refusals(settings)
    if refusals:
        raise SettingsError("; ".join(refusals))
    return settings


async def _with_services(job, overrides=None):
    from entrypoints.bootstrap import prepare

    c = composition.container_for(_startable(load_settings(os.environ, overrides)))
    services = await prepare(c)
    try:
        return await job(c, services)
    finally:
        await composition.stop(c)


def _worker(args: argparse.Namespace) -> int:
    async def run(c, services) -> int:
        worker = Worker(await registered_jobs(c))
        if args.once:
            log.info("worker: one pass of each job: %s", await worker.run_each_once())
            return 0
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        log.info("worker running: %s", ", ".join(f"{job.name} every {job.interval:g}s" for job in worker.jobs))
        await worker.run(stop)
        return 0
    return asyncio.run(_with_services(run, {"worker_interval": args.interval} if args.interval else None))


def _partitions(args: argparse.Namespace) -> int:
    """The worker's ``partitions`` job once: the coming partitions created, those past their
    retention dropped (unless ``--no-purge``); each named on stdout, then every partition listed."""
    async def run(c, services) -> int:
        partitions = await resolve(c.storage.partitions)
        created = await partitions.ensure()
        dropped = [] if args.no_purge else await partitions.purge()
        for table in partitions.tables:
            for p in await partitions.partitions(table.name):
                bound = "DEFAULT" if p.default else f"{p.lo.isoformat() if p.lo else 'MINVALUE'} .. " \
                                                    f"{p.hi.isoformat() if p.hi else 'MAXVALUE'}"
                print(json.dumps({"table": table.name, "partition": p.name, "range": bound,
                                  "created": p.name in created}))
        log.info("partitions: %d created (%s), %d dropped (%s)", len(created), ", ".join(created) or "none",
                 len(dropped), ", ".join(dropped) or "none")
        return 0
    if not load_settings().storage.database_url:
        log.error("DATABASE_URL is not set: the embedded default has no partitions")
        return 2
    return asyncio.run(_with_services(run))


def _reconcile(args: argparse.Namespace) -> int:
    async def run(c, services) -> int:
        report = await services.maintenance.reconcile_report(repair=args.repair, progress=_progress(
            lambda name, seen, found: f"reconcile: {name}: {seen} rows, {found} finding(s) so far"))
        _progress_done()
        findings = report.findings
        for f in findings:
            print(json.dumps({"kind": f.kind, "subject": f.subject, "detail": f.detail, "repaired": f.repaired}))
        log.info("%s", _reconcile_summary(report))
        return 1 if any(not f.repaired for f in findings) else 0
    return asyncio.run(_with_services(run))


def _reconcile_summary(report) -> str:
    """What reconcile found and the window it covered: every row of each walk (keyset pages, no
    cap), as of the pass's start (open refunds: those created more than an hour before it)."""
    covered = ", ".join(f"{name} {seen}" for name, seen in report.covered.items())
    return (f"reconcile: {len(report.findings)} finding(s), {sum(f.repaired for f in report.findings)} repaired; "
            f"covered every row as of {report.started_at.isoformat(timespec='seconds')}: {covered}")


def main(argv: list[str] | None = None) -> int:
    try:
        logs.configure(os.environ.get("PAYPORT_LOG_LEVEL", "INFO"))
    except ValueError as exc:  # PAYPORT_LOG_FORMAT, PAYPORT_ACCESS_LOG or PAYPORT_LOG_LEVEL that cannot work
        print(f"payport: {exc}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="payport", description="Checkout & payments service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", help="default 127.0.0.1 (PAYPORT_HOST)")
    serve.add_argument("--port", type=int, help="default 8080 (PAYPORT_PORT)")
    serve.add_argument("--workers", type=int, default=1,
                       help="serving processes sharing the port (SO_REUSEPORT); needs DATABASE_URL and REDIS_URL")
    serve.set_defaults(run=_serve)
    sub.add_parser("migrate", help="apply the Postgres migrations (DATABASE_URL)").set_defaults(run=_migrate)
    worker = sub.add_parser("worker", help="run the background jobs: expire/re-verify intents, retry refunds and "
                                           "webhooks, relay the outbox, send deliveries, reap old rows")
    worker.add_argument("--interval", type=float, help="seconds between passes of the frequent jobs "
                                                       "(default 5, PAYPORT_WORKER_INTERVAL)")
    worker.add_argument("--once", action="store_true", help="run each job once and exit")
    worker.set_defaults(run=_worker)
    reconcile = sub.add_parser("reconcile", help="report broken money invariants (exit 1 if any remain)")
    reconcile.add_argument("--repair", action="store_true", help="repair what is safe to repair")
    reconcile.set_defaults(run=_reconcile)
    parts = sub.add_parser("partitions", help="create the time-partitioned tables' coming partitions and drop "
                                              "those past their retention (the worker does it hourly)")
    parts.add_argument("--no-purge", action="store_true", help="create only; drop nothing")
    parts.set_defaults(run=_partitions)
    sub.add_parser("config", help="print the effective configuration (secrets masked)").set_defaults(run=_config)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ValueError as exc:  # a setting that cannot work: say which one, and stop
        log.error("configuration error: %s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
