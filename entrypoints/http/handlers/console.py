"""The admin console: one HTML page and its static script and stylesheet, served from
``entrypoints/http/console/``. The page calls the same admin JSON API as any client; it keeps the
access token in sessionStorage and sends it as a bearer header, which no browser attaches to a
cross-site request by itself, so the console needs no CSRF token (there is no cookie to ride on)."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from entrypoints.http.endpoint import Ctx, RouteTable

routes = RouteTable("console")

ASSETS = Path(__file__).resolve().parent.parent / "console"
#: scripts and styles only from ourselves, API calls only to ourselves, never framed, no forms elsewhere
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@routes.endpoint("GET", "/admin", summary="The admin console (HTML; signs in with an admin account)", auth="none",
                 content_type="text/html")
async def page(ctx: Ctx):
    return web.Response(text=(ASSETS / "index.html").read_text(), content_type="text/html", headers=dict(HEADERS))


def _asset(name: str, content_type: str):
    """A route serving one file of the console's folder."""
    async def handler(ctx: Ctx):
        return web.Response(body=(ASSETS / name).read_bytes(), content_type=content_type, headers=dict(HEADERS))
    handler.__name__ = name.replace(".", "_")
    routes.endpoint("GET", f"/admin/assets/{name}", summary=f"The admin console's {name}", auth="none",
                    content_type=content_type)(handler)


_asset("console.js", "text/javascript")
_asset("console.css", "text/css")
