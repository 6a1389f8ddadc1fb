"""RFC 9457 problem+json: every error leaves the service through here, with no stack trace."""
from __future__ import annotations

import logging

import orjson
from aiohttp import web

from application import errors as app
from domain import errors as dom

log = logging.getLogger(__name__)
CONTENT_TYPE = "application/problem+json"

#: Domain and application errors -> (HTTP status, title). The most specific class wins.
STATUS: list[tuple[type[Exception], int, str]] = [
    (app.RateLimited, 429, "Too many requests"),
    (app.NotFound, 404, "Not found"),
    (app.Unauthorized, 401, "Unauthorized"),
    (app.Forbidden, 403, "Forbidden"),
    (app.ConcurrencyConflict, 409, "Concurrent update"),
    (app.Conflict, 409, "Conflict"),
    (app.GatewayTimeout, 504, "Payment gateway timed out"),
    (app.GatewayUnavailable, 503, "Payment gateway unavailable"),
    (app.GatewayError, 502, "Payment gateway error"),
    (app.DependencyUnavailable, 503, "Service temporarily unavailable"),
    (dom.IllegalTransition, 409, "Not allowed in the current state"),
    (dom.InsufficientStock, 409, "Insufficient stock"),
    (dom.ProductUnavailable, 409, "Product unavailable"),
    (dom.RefundNotAllowed, 409, "Refund not allowed"),
    (dom.PaymentNotAllowed, 409, "Payment not allowed"),
    (dom.RefundExceedsCaptured, 422, "Refund exceeds the refundable amount"),
    (dom.CouponInvalid, 422, "Coupon not applicable"),
    (dom.CurrencyMismatch, 422, "Currency mismatch"),
    (dom.DomainError, 422, "Invalid request"),
]


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
    if isinstance(exc, MalformedForm):
        return problem(400, "Malformed form", f"the form could not be read: {exc}", "malformed_form")
    if isinstance(exc, dom.DomainError):
        status, title = next((s, t) for cls, s, t in STATUS if isinstance(exc, cls))
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
        return problem(status, title, exc.message, exc.code, headers, **extra)
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
