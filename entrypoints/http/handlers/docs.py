"""The API docs page: Swagger UI on this app's ``/openapi.json``, with "Try it out" against this
origin and a bearer token (the document's ``bearerAuth`` scheme).

Swagger UI's files come from the ``swagger-ui-py`` package (Swagger UI 5, which reads OpenAPI 3.1;
``swagger-ui-bundle`` still ships Swagger UI 4, which cannot), served from our own routes, never a
CDN. Their paths name the package's version (ours, the script's digest), so they are cached for a
year and a new release is a new URL. The page's CSP allows scripts, styles, images and requests from
this origin only, with no inline script (the one that starts Swagger UI is ``docs/docs.js``).
"""
from __future__ import annotations

import asyncio
import gzip
import hashlib
from importlib import metadata
from pathlib import Path

import swagger_ui
from aiohttp import web

from entrypoints.http.endpoint import Ctx, RouteTable

routes = RouteTable("docs")

VENDOR = Path(swagger_ui.__file__).resolve().parent / "static"
OWN = Path(__file__).resolve().parent.parent / "docs"
#: Swagger UI draws its icons from data: URIs in its stylesheet; nothing else but ourselves
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
                "Cross-Origin-Resource-Policy": "same-origin",
                "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()"}
#: an asset's URL changes with its content, so a browser may keep it for a year without asking again
ASSET_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff",
                 "Cross-Origin-Resource-Policy": "same-origin"}
VENDOR_PREFIX = f"/docs/assets/swagger-ui-{metadata.version('swagger-ui-py')}"
OWN_PREFIX = f"/docs/assets/payport-{hashlib.sha256((OWN / 'docs.js').read_bytes()).hexdigest()[:12]}"


#: compressed once, on the first request for it (Swagger UI's bundle: 1.49 MB, 0.41 MB gzipped, in
#: about 0.1 s, off the event loop)
COMPRESSIBLE = ("text/javascript", "text/css")


#: each asset's body, plain and gzipped: the package's files do not change while the process runs
_BODIES: dict[tuple[Path, bool], bytes] = {}


def _load(path: Path, compressed: bool) -> bytes:
    raw = path.read_bytes()
    return gzip.compress(raw, compresslevel=6, mtime=0) if compressed else raw


async def _body(path: Path, compressed: bool) -> bytes:
    body = _BODIES.get((path, compressed))
    if body is None:  # read (and compress) once, in a thread
        body = _BODIES[(path, compressed)] = await asyncio.to_thread(_load, path, compressed)
    return body


def _asset(folder: Path, prefix: str, name: str, content_type: str) -> str:
    """Declare the route serving ``folder/name`` at ``prefix/name`` (gzipped to a client that takes
    it); returns that URL path."""
    async def handler(ctx: Ctx):
        headers = dict(ASSET_HEADERS)
        compressed = content_type in COMPRESSIBLE and "gzip" in ctx.request.headers.get("Accept-Encoding", "")
        if content_type in COMPRESSIBLE:
            headers["Vary"] = "Accept-Encoding"
        if compressed:
            headers["Content-Encoding"] = "gzip"
        body = await _body(folder / name, compressed)
        charset = "utf-8" if content_type in COMPRESSIBLE else None  # whatever the page that loads it says
        return web.Response(body=body, content_type=content_type, charset=charset, headers=headers)
    handler.__name__ = "asset_" + name.replace(".", "_").replace("-", "_")
    url = f"{prefix}/{name}"
    routes.endpoint("GET", url, summary=f"The docs page's {name}", auth="none", content_type=content_type)(handler)
    return url


BUNDLE = _asset(VENDOR, VENDOR_PREFIX, "swagger-ui-bundle.js", "text/javascript")
STYLES = _asset(VENDOR, VENDOR_PREFIX, "swagger-ui.css", "text/css")
ICON = _asset(VENDOR, VENDOR_PREFIX, "favicon-32x32.png", "image/png")
START = _asset(OWN, OWN_PREFIX, "docs.js", "text/javascript")

PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>payport API</title><link rel="icon" type="image/png" href="{ICON}"><link rel="stylesheet" href="{STYLES}">
</head><body>
<noscript>This page needs JavaScript. The API's description is <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="{BUNDLE}"></script><script src="{START}"></script>
</body></html>
"""


@routes.endpoint("GET", "/docs", summary="The API docs (Swagger UI; Try it out with a bearer token)", auth="none",
                 content_type="text/html")
async def page(ctx: Ctx):
    return web.Response(text=PAGE, content_type="text/html", headers=dict(PAGE_HEADERS))
