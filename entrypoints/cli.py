"""The ``payport`` command: serve, migrate, worker, reconcile."""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import sys
import time

from aiohttp import web

import container as composition
from entrypoints.http.app import create_app

log = logging.getLogger("payport")


def _serve(args: argparse.Namespace) -> int:
    overrides = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = composition.settings_from_env()
    host = overrides.get("host", settings["host"])
    port = overrides.get("port", settings["port"])
    if "PAYPORT_PUBLIC_URL" not in os.environ:
        overrides["public_url"] = f"http://{host}:{port}"
    c = composition.build_container(overrides)
    config = c.config()
    if not config["database_url"]:
        log.warning("storage: in-memory (embedded default). Nothing is kept across restarts; "
                    "set DATABASE_URL and REDIS_URL for real storage.")
    else:
        log.info("storage: postgres; cache/sessions/limits: %s", "redis" if config["redis_url"] else "memory")
    if config.get("ephemeral_jwt_secret"):
        log.warning("PAYPORT_JWT_SECRET is not set: tokens are signed with a random key and die with this process")
    log.info("payport on http://%s:%s  (docs: /docs)", host, port)
    if os.environ.get("PAYPORT_UVLOOP", "on") != "off":
        try:
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        except ImportError:
            log.info("uvloop is not installed: using the standard asyncio loop")
    app = create_app(c)
    app.on_startup.append(_settle_gc)  # after the container's own start-up: all that lives for good exists now
    web.run_app(app, host=host, port=port, print=None, access_log=None)
    return 0


async def _settle_gc(app: web.Application) -> None:
    """What start-up built (modules, the container, the demo catalog) lives as long as the process:
    freeze it out of the collector's sight, and collect the young generation less often. The
    collector took 4-8% of the server's CPU on the write paths (bench/RESULTS.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def _migrate(args: argparse.Namespace) -> int:
    from adapters.postgres.migrate import migrate

    dsn = composition.settings_from_env()["database_url"]
    if not dsn:
        log.error("DATABASE_URL is not set: the embedded default has no schema to migrate")
        return 2
    applied = asyncio.run(migrate(dsn))
    log.info("migrations applied: %s", ", ".join(applied) if applied else "none (up to date)")
    return 0


async def _with_services(job):
    from entrypoints.bootstrap import prepare

    c = composition.build_container()
    services = await prepare(c)
    try:
        return await job(c, services)
    finally:
        await composition.stop(c)


def _worker(args: argparse.Namespace) -> int:
    async def loop(c, services) -> int:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        log.info("worker running every %ss (expire, re-verify, refunds, webhooks, outbox)", args.interval)
        postgres = bool(c.config()["database_url"])
        relay = await composition.resolve(c.outbox_relay) if postgres else None
        last_cleanup = 0.0
        while not stop.is_set():
            try:
                done = await services.maintenance.run_once()
                if relay is not None:
                    done["outbox"] = await relay.relay_once(500)
                    if time.monotonic() - last_cleanup > 3600:  # hourly: keys kept >= 24 h, outbox 7 days
                        done["idempotency_reaped"] = await services.idempotency.reap(86400)
                        done["outbox_purged"] = await relay.purge()
                        last_cleanup = time.monotonic()
                if any(done.values()):
                    log.info("worker pass: %s", done)
            except Exception:  # noqa: BLE001 - a failed pass is logged and retried, never fatal
                log.exception("worker pass failed")
            if args.once:
                break
            try:
                await asyncio.wait_for(stop.wait(), timeout=args.interval)
            except TimeoutError:
                pass
        return 0
    return asyncio.run(_with_services(loop))


def _reconcile(args: argparse.Namespace) -> int:
    async def run(c, services) -> int:
        findings = await services.maintenance.reconcile(repair=args.repair)
        for f in findings:
            print(json.dumps({"kind": f.kind, "subject": f.subject, "detail": f.detail, "repaired": f.repaired}))
        log.info("reconcile: %d finding(s), %d repaired", len(findings), sum(f.repaired for f in findings))
        return 1 if any(not f.repaired for f in findings) else 0
    return asyncio.run(_with_services(run))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("PAYPORT_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="payport", description="Checkout & payments service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", help="default 127.0.0.1 (PAYPORT_HOST)")
    serve.add_argument("--port", type=int, help="default 8080 (PAYPORT_PORT)")
    serve.set_defaults(run=_serve)
    sub.add_parser("migrate", help="apply the Postgres migrations (DATABASE_URL)").set_defaults(run=_migrate)
    worker = sub.add_parser("worker", help="expire/re-verify intents, retry refunds and webhooks, relay the outbox")
    worker.add_argument("--interval", type=float, default=5.0, help="seconds between passes")
    worker.add_argument("--once", action="store_true", help="run one pass and exit")
    worker.set_defaults(run=_worker)
    reconcile = sub.add_parser("reconcile", help="report broken money invariants (exit 1 if any remain)")
    reconcile.add_argument("--repair", action="store_true", help="repair what is safe to repair")
    reconcile.set_defaults(run=_reconcile)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ValueError as exc:  # a setting that cannot work: say which one, and stop
        log.error("configuration error: %s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
