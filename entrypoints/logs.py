"""Structured logs: JSON lines when stderr is not a terminal, readable text on
one; ``PAYPORT_LOG_FORMAT=json|text`` forces either. Every line logged while a request is handled
carries its ``request_id`` and ``route`` (context variables set by the HTTP pipeline), and each
request ends with one access line (``payport.access``: method, route, status, duration_ms);
``PAYPORT_ACCESS_LOG=errors`` keeps it only for answers of 400 and above and requests slower than
a second, ``off`` drops it. No query string, header or body is logged: they may carry tokens or
personal data.

The JSON lines have the fields python-json-logger wrote; ``JsonLines`` below writes them with
orjson, at about half that formatter's cost per line (bench/RESULTS.md)."""
from __future__ import annotations

import binascii
import json
import logging
import os
import re
import sys
import time
from contextvars import ContextVar

import orjson

#: (request id, route template) of the request being handled, if any.
REQUEST: ContextVar[tuple[str, str] | None] = ContextVar("payport_request", default=None)
ACCESS = logging.getLogger("payport.access")
_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")


#: hex digits 0-9 as the letters g-p: a fresh id is 128 random bits with no run of digits that a log
#: scanner (or a person) could take for a card number
_NO_DIGITS = bytes.maketrans(b"0123456789", b"ghijklmnop")


def request_id(offered: str | None) -> str:
    """The client's ``X-Request-ID`` when it is a short plain token (at most 12 digits: never a card
    number), else a fresh one."""
    if offered is not None and _SANE_ID.fullmatch(offered) and sum(c.isdigit() for c in offered) <= 12:
        return offered
    return binascii.hexlify(os.urandom(16)).translate(_NO_DIGITS).decode()  # a quarter of uuid4().hex's cost


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


#: a LogRecord's own attributes: everything else on a record is an extra and goes into the line
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonLines(logging.Formatter):
    """One JSON object a line: ``time`` (``2026-12-02 03:50:19,749``), ``level``, ``logger``,
    ``message``, then the record's extras (the request context among them), then ``exc_info`` and
    ``stack_info`` when present. A value JSON cannot hold is written as its ``str``."""

    def __init__(self) -> None:
        super().__init__()
        self._second: int | None = None
        self._stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # strftime once a second, not once a line
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(record.created))
            self._second = second
        line = {"time": f"{self._stamp},{int(record.msecs):03d}", "level": record.levelname,
                "logger": record.name, "message": record.getMessage()}
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS:
                line[key] = value
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(line, default=str).decode()
        except (TypeError, orjson.JSONEncodeError):  # an int beyond 64 bits, a key that is not a str
            return json.dumps(line, default=str)


def json_formatter() -> logging.Formatter:
    return JsonLines()


def log_format(environ=os.environ, stream=sys.stderr) -> str:
    forced = environ.get("PAYPORT_LOG_FORMAT", "").strip().lower()
    if forced in ("json", "text"):
        return forced
    if forced:
        raise ValueError(f"PAYPORT_LOG_FORMAT must be json or text, not {forced!r}")
    return "text" if stream.isatty() else "json"


#: answers at or above this status get an access line (600: none) ...
_ACCESS_STATUS = 0
#: ... and so do requests that took at least this long, whatever their status
_ACCESS_SLOW = 0.0
_ACCESS_MODES = {"all": (0, 0.0), "errors": (400, 1.0), "off": (600, float("inf"))}


def access_mode(environ=os.environ) -> str:
    mode = environ.get("PAYPORT_ACCESS_LOG", "all").strip().lower() or "all"
    if mode not in _ACCESS_MODES:
        raise ValueError(f"PAYPORT_ACCESS_LOG must be all, errors or off, not {mode!r}")
    return mode


def configure(level: str = "INFO", fmt: str | None = None, stream=None, access: str | None = None) -> None:
    """Install one handler on the root logger (replacing any): JSON or text, with request context.
    ``access`` (default ``PAYPORT_ACCESS_LOG``, else ``all``) picks which requests get an access line."""
    global _ACCESS_STATUS, _ACCESS_SLOW
    _ACCESS_STATUS, _ACCESS_SLOW = _ACCESS_MODES[access or access_mode()]
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
    if (status >= _ACCESS_STATUS or seconds >= _ACCESS_SLOW) and ACCESS.isEnabledFor(logging.INFO):
        ACCESS.info("%s %s %d", method, route, status,
                    extra={"method": method, "status": status, "duration_ms": round(seconds * 1000, 2)})
