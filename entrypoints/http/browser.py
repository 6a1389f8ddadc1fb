"""What browsers are told: security headers on every HTML answer, CORS for the configured origins
(credentials never), and the sandbox form's CSRF token.

There is no middleware (``pipeline.wrap`` handles every route): ``wrap`` calls ``secure_html`` for a
route that answers HTML and ``allow_origin`` when CORS is configured and the request names an
Origin; preflights (``OPTIONS`` with ``Access-Control-Request-Method``) are answered by the
catch-all of each path (``pipeline.method_not_allowed_handler``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection, Iterable

from aiohttp import web

#: the default CSP of an HTML answer: nothing loads but inline styles; no framing, no form target
#: but ourselves (a route sends its own CSP to allow more)
DEFAULT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
               "frame-ancestors 'none'; base-uri 'none'")
HTML_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: what a cross-origin script may read of our answers
EXPOSED = ("ETag, Location, Retry-After, Idempotent-Replayed, RateLimit-Limit, RateLimit-Remaining, "
           "RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset")
#: request headers a cross-origin script may send
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-None-Match"
PREFLIGHT_MAX_AGE = "600"


def script_hash(script: str) -> str:
    """A CSP source allowing exactly this inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def secure_html(response: web.StreamResponse) -> None:
    """The security headers every HTML answer carries (a CSP the route set is kept)."""
    headers = response.headers
    for name, value in HTML_HEADERS.items():
        headers.setdefault(name, value)
    headers.setdefault("Content-Security-Policy", DEFAULT_CSP)


def allow_origin(response: web.StreamResponse, origin: str, allowed: Collection[str]) -> None:
    """CORS headers for a request from ``origin``: only an allowed origin may read the answer; no
    credentials (the API authenticates with a bearer token, never a cookie)."""
    response.headers.add("Vary", "Origin")
    if origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED


def preflight(request: web.Request, allowed: Collection[str], methods: Iterable[str]) -> web.Response:
    """The answer to a CORS preflight: 204, with the permissions only for an allowed origin and a
    method of this path."""
    origin = request.headers.get("Origin", "")
    wanted = request.headers.get("Access-Control-Request-Method", "")
    methods = sorted(set(methods))
    response = web.Response(status=204, headers={"Vary": "Origin"})
    if origin in allowed and wanted in methods:
        response.headers.update({
            "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": ", ".join(methods),
            "Access-Control-Allow-Headers": ALLOWED_HEADERS, "Access-Control-Max-Age": PREFLIGHT_MAX_AGE})
    return response


def is_preflight(request: web.Request) -> bool:
    return (request.method == "OPTIONS" and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers)


# -- the sandbox form's CSRF token -----------------------------------------------------------------
CSRF_COOKIE = "payport_sandbox_csrf"
#: headers a browser sends with every form submission (Origin on POST, Sec-Fetch-* since 2020-23):
#: a request with none of them is no browser's, and cannot have been forged by another site
BROWSER_HEADERS = ("Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Referer", "Cookie")


def csrf_token(secret: str, reference: str, nonce: str) -> str:
    """The form's token: bound to this payment's page and to the browser's cookie (``nonce``)."""
    return hmac.new(secret.encode(), f"sandbox-csrf|{reference}|{nonce}".encode(), hashlib.sha256).hexdigest()


def from_a_browser(request: web.Request) -> bool:
    return any(name in request.headers for name in BROWSER_HEADERS)


def csrf_ok(request: web.Request, secret: str, reference: str, sent: str | None, own_origins: Collection[str]) -> bool:
    """Whether a form POST may settle ``reference``. A browser must send the token of the page it
    loaded with that page's cookie (SameSite=Strict: another site's form never carries it) and no
    foreign Origin; a client that is no browser (a script, a test) cannot be forged cross-site."""
    origin = request.headers.get("Origin")
    if origin is not None and origin not in own_origins:
        return False
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return False
    if not from_a_browser(request):
        return True
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not sent:
        return False
    return hmac.compare_digest(sent.encode(), csrf_token(secret, reference, nonce).encode())
