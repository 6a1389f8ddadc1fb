"""The ``payport`` command: serve, migrate, worker, reconcile."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

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
    log.info("payport on http://%s:%s  (docs: /docs, sandbox gateway enabled)", host, port)
    web.run_app(create_app(c), host=host, port=port, print=None, access_log=None)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("PAYPORT_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="payport", description="Checkout & payments service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", help="default 127.0.0.1 (PAYPORT_HOST)")
    serve.add_argument("--port", type=int, help="default 8080 (PAYPORT_PORT)")
    serve.set_defaults(run=_serve)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
