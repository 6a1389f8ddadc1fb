"""Structured logs: JSON lines (python-json-logger) when stderr is not a terminal, readable text on
one; ``PAYPORT_LOG_FORMAT=json|text`` forces either. Every line logged while a request is handled
carries its ``request_id`` and ``route`` (context variables set by the HTTP pipeline), and each
request ends with one access line (``payport.access``: method, route, status, duration_ms). No
query string, header or body is logged: they may carry tokens or personal data."""
from __future__ import annotations

import logging
import os
import re
import sys
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

#: (request id, route template) of the request being handled, if any.
REQUEST: ContextVar[tuple[str, str] | None] = ContextVar("payport_request", default=None)
ACCESS = logging.getLogger("payport.access")
_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")


#: hex digits 0-9 as the letters g-p: a fresh id is 128 random bits with no run of digits that a log
#: scanner (or a person) could take for a card number
_NO_DIGITS = str.maketrans("0123456789", "ghijklmnop")


def request_id(offered: str | None) -> str:
    """The client's ``X-Request-ID`` when it is a short plain token (at most 12 digits: never a card
    number), else a fresh one."""
    if offered is not None and _SANE_ID.fullmatch(offered) and sum(c.isdigit() for c in offered) <= 12:
        return offered
    return uuid.uuid4().hex.translate(_NO_DIGITS)


class RequestContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = REQUEST.get()
        if current is not None and not hasattr(record, "request_id"):
            record.request_id, record.route = current
        return True


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{line} [{rid} {record.route}]" if rid else line


def json_formatter() -> logging.Formatter:
    """One JSON object a line: time, level, logger, message, the request context and any extras."""
    return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})


def log_format(environ=os.environ, stream=sys.stderr) -> str:
    forced = environ.get("PAYPORT_LOG_FORMAT", "").strip().lower()
    if forced in ("json", "text"):
        return forced
    if forced:
        raise ValueError(f"PAYPORT_LOG_FORMAT must be json or text, not {forced!r}")
    return "text" if stream.isatty() else "json"


def configure(level: str = "INFO", fmt: str | None = None, stream=None) -> None:
    """Install one handler on the root logger (replacing any): JSON or text, with request context."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    if (fmt or log_format(stream=stream)) == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(_Text("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RequestContext())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def access(method: str, route: str, status: int, seconds: float) -> None:
    if ACCESS.isEnabledFor(logging.INFO):
        ACCESS.info("%s %s %d", method, route, status,
                    extra={"method": method, "status": status, "duration_ms": round(seconds * 1000, 2)})
