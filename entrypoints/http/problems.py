"""RFC 9457 problem+json: every error leaves the service through here, with no stack trace."""
from __future__ import annotations

import logging

import orjson
from aiohttp import web

from application.errors import TokenRecheckDue
from domain.errors import Failure, Kind

log = logging.getLogger(__name__)
CONTENT_TYPE = "application/problem+json"
#: Marks an answer the same request may well not get again (a race lost, a service down): an
#: Idempotency-Key never stores it as its final answer (``response[TRANSIENT]``).
TRANSIENT = web.ResponseKey("transient", bool)

#: Every kind of failure -> (HTTP status, title). A failure class with a ``title`` of its own
#: names its problem type more precisely (409 "Insufficient stock" rather than "Conflict").
STATUS: dict[Kind, tuple[int, str]] = {
    Kind.INVALID: (422, "Invalid request"),
    Kind.CONFLICT: (409, "Conflict"),
    Kind.NOT_FOUND: (404, "Not found"),
    Kind.UNAUTHORIZED: (401, "Unauthorized"),
    Kind.FORBIDDEN: (403, "Forbidden"),
    Kind.RATE_LIMITED: (429, "Too many requests"),
    Kind.UNAVAILABLE: (503, "Service temporarily unavailable"),
    Kind.UPSTREAM: (502, "Upstream service error"),
    Kind.TIMED_OUT: (504, "Upstream service timed out"),
}


def status_of(exc: Failure) -> tuple[int, str]:
    status, title = STATUS[exc.kind]
    return status, exc.title or title


def problem(status: int, title: str, detail: str, code: str, headers: dict | None = None,
            **extra: object) -> web.Response:
    body = {"type": f"urn:payport:problem:{code}", "title": title, "status": status, "detail": detail,
            "code": code, **extra}
    return web.Response(status=status, body=orjson.dumps(body, default=str), content_type=CONTENT_TYPE,
                        headers=headers)


class MalformedForm(Exception):
    """A body sent as a form that cannot be read as one (a multipart type with no boundary, an
    unknown charset): the client's fault, a 400."""


def from_exception(exc: BaseException) -> web.Response:
    if isinstance(exc, TokenRecheckDue):  # a token that was not checked is refused, never let through
        return problem(401, "Unauthorized", "the token is not valid", "unauthorized", {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, MalformedForm):
        return problem(400, "Malformed form", f"the form could not be read: {exc}", "malformed_form")
    if isinstance(exc, Failure):
        status, title = status_of(exc)
        headers = {}
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None and status in (429, 503, 502):
            headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
        headers.update(getattr(exc, "headers", None) or {})
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        extra = {k: v for k, v in exc.details.items() if k not in {"type", "title", "status", "detail", "code"}}
        if "field" in extra and status == 422:
            extra["errors"] = [{"field": extra["field"], "message": exc.message}]
        response = problem(status, title, exc.message, exc.code, headers, **extra)
        if exc.transient:
            response[TRANSIENT] = True
        return response
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return problem(413, "Request body too large", "request bodies are limited to 1 MiB", "body_too_large")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return problem(405, "Method not allowed", f"allowed: {', '.join(sorted(exc.allowed_methods))}",
                       "method_not_allowed", {"Allow": ",".join(sorted(exc.allowed_methods))})
    if isinstance(exc, web.HTTPNotFound):
        return problem(404, "Not found", "no such route", "not_found")
    if isinstance(exc, web.HTTPException) and exc.status >= 400:
        return problem(exc.status, exc.reason, exc.text or exc.reason, "http_error")
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "Internal error", "an unexpected error occurred; it has been logged", "internal_error")


def validation_problem(errors: list[dict]) -> web.Response:
    malformed = any(e.get("type") == "json_invalid" for e in errors)
    if malformed:
        return problem(400, "Malformed JSON", "the request body is not valid JSON", "malformed_json")
    fields = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in errors]
    return problem(422, "Validation failed", "the request body is not valid", "validation_error", errors=fields)
