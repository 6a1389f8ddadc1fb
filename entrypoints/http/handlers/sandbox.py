"""The sandbox gateway's hosted payment page (the embedded default's stand-in for a real gateway)."""
from __future__ import annotations

import html
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from application.errors import NotFound
from domain.money import Money
from entrypoints.http import browser
from entrypoints.http.endpoint import Ctx, RouteTable
from entrypoints.http.params import read_form
from entrypoints.http.problems import problem
from entrypoints.http.shop_schemas import SandboxOutcomeIn

routes = RouteTable("sandbox")

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>payport sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}
.card{{border:1px solid #ccc;border-radius:.5rem;padding:1.5rem}}button{{font-size:1rem;padding:.6rem 1.2rem;margin-right:.5rem}}
.ok{{background:#1a7f37;color:#fff;border:0}}.no{{background:#cf222e;color:#fff;border:0}}</style></head>
<body><div class="card"><h1>Sandbox payment</h1><p>{description}</p><p><strong>{amount}</strong></p>
<p>Status: <span id="status">{status}</span></p>{form}<p><small>No money moves: this is payport's sandbox gateway.</small></p></div></body></html>"""
FORM = """<form method="post"><input type="hidden" name="csrf" value="{csrf}">
<button class="ok" name="outcome" value="approve">Approve</button>
<button class="no" name="outcome" value="decline">Decline</button></form>"""


def _enabled_reference(ctx: Ctx) -> str:
    if ctx.services.gateways.get("sandbox") is None:
        raise NotFound("the sandbox gateway is not enabled here (PAYPORT_SANDBOX=on enables it)")
    return ctx.request.match_info["reference"]


async def _txn(ctx: Ctx) -> tuple[str, dict]:
    reference = _enabled_reference(ctx)
    txn = await ctx.services.sandbox.transaction(reference)
    if txn is None:
        raise NotFound("no sandbox payment with this reference")
    return reference, txn


def _csp(ctx: Ctx) -> str:
    """The page's CSP: inline styles only, never framed; its form posts here and is redirected
    through the callback to a return URL (form-action covers the redirects)."""
    targets = " ".join(sorted(ctx.services.edge.own_origins | ctx.services.edge.return_url_origins))
    return (f"default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {targets}; "
            "frame-ancestors 'none'; base-uri 'none'")


@routes.endpoint("GET", "/sandbox/pay/{reference}", summary="Sandbox hosted payment page", auth="none",
                 content_type="text/html", rate_limit="sandbox_ip")
async def page(ctx: Ctx):
    reference, txn = await _txn(ctx)
    amount = f"{txn['currency']} {Money(txn['amount'], txn['currency']).to_major():,}"
    nonce = secrets.token_urlsafe(16)
    form = ""
    if txn["status"] == "pending":
        form = FORM.format(csrf=browser.csrf_token(ctx.services.sandbox.secret, reference, nonce))
    body = PAGE.format(description=html.escape(txn["description"]), amount=html.escape(amount),
                       status=html.escape(txn["status"]), form=form)
    response = web.Response(text=body, content_type="text/html",
                            headers={"Cache-Control": "no-store", "Content-Security-Policy": _csp(ctx)})
    response.set_cookie(browser.CSRF_COOKIE, nonce, path=f"/sandbox/pay/{reference}", httponly=True,
                        samesite="Strict", max_age=3600)
    return response


@routes.endpoint("POST", "/sandbox/pay/{reference}", summary="Approve or decline (form field outcome=approve|decline; "
                 "a browser sends the page's csrf field with its cookie)", auth="none", status=303, form=SandboxOutcomeIn,
                 rate_limit="sandbox_ip")
async def settle(ctx: Ctx):
    reference = _enabled_reference(ctx)  # an unknown reference is a 404 from settle (one read, not two)
    form = await read_form(ctx.request)
    outcome = form.get("outcome")
    if outcome not in ("approve", "decline"):
        return problem(422, "Validation failed", "outcome must be approve or decline", "validation_error",
                       errors=[{"field": "outcome", "message": "approve or decline"}])
    csrf = form.get("csrf")
    if not browser.csrf_ok(ctx.request, ctx.services.sandbox.secret, reference,
                           csrf if isinstance(csrf, str) else None, ctx.services.edge.own_origins):
        return problem(403, "Forbidden", "submit the form of the payment page you loaded", "csrf_failed")
    txn, headers, body = await ctx.services.sandbox.settle(reference, outcome == "approve")
    # the gateway's webhook: delivered in-process through the same verify -> inbox -> process path
    webhooks = ctx.services.webhooks
    entry, new = await webhooks.receive("sandbox", headers, body, {})
    if new:
        await webhooks.process(entry.id, entry)
    callback = urlsplit(txn["callback_url"])
    raise web.HTTPSeeOther(f"{callback.path}?{callback.query}")
