"""The sandbox gateway's hosted payment page (the embedded default's stand-in for a real gateway):
what is being paid, to whom, the amount, Approve / Decline, and the scripted behaviours a tester
picks to rehearse failures (``adapters/gateways/sandbox_script.py``)."""
from __future__ import annotations

import html
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from adapters.gateways.sandbox_script import BEHAVIOURS, MAX_REASON, MAX_SECONDS, REASONS, Script, deliver
from application.errors import NotFound
from domain.money import Money
from entrypoints.http import browser
from entrypoints.http.endpoint import Ctx, RouteTable
from entrypoints.http.params import parse_fields, read_form
from entrypoints.http.problems import problem
from entrypoints.http.queries import SandboxScriptQuery
from entrypoints.http.shop_schemas import SandboxOutcomeIn

routes = RouteTable("sandbox")

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pay {shop} - payport sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1f2328}}
.card{{border:1px solid #ccc;border-radius:.5rem;padding:1.5rem}}.sandbox{{background:#fff8c5;padding:.3rem .6rem;
border-radius:.3rem;font-size:.85rem}}h1{{font-size:1.1rem;margin:.8rem 0 .2rem}}.amount{{font-size:2rem;margin:.2rem 0 1rem}}
table{{width:100%;border-collapse:collapse;margin:.5rem 0 1rem}}td,th{{padding:.3rem 0;border-bottom:1px solid #eee;text-align:left}}
td.n,th.n{{text-align:right}}dl{{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0 0 1rem}}
dt{{color:#57606a}}dd{{margin:0}}fieldset{{border:1px solid #ddd;border-radius:.4rem;margin:1rem 0}}
label{{display:block;margin:.4rem 0 .1rem;font-size:.9rem}}select,input{{font-size:1rem;padding:.3rem;width:100%;box-sizing:border-box}}
button{{font-size:1rem;padding:.6rem 1.2rem;margin-right:.5rem}}.ok{{background:#1a7f37;color:#fff;border:0}}
.no{{background:#cf222e;color:#fff;border:0}}.reason{{color:#cf222e}}</style></head>
<body><div class="card"><span class="sandbox">Sandbox: no money moves</span>
<h1>Pay <span id="shop">{shop}</span></h1><p class="amount" id="amount">{amount}</p>
<dl><dt>Order</dt><dd id="order">{order}</dd><dt>Description</dt><dd id="description">{description}</dd>
<dt>Status</dt><dd><span id="status">{status}</span>{note}</dd></dl>{items}{form}
<p><small>payport's sandbox gateway: it takes payments only where no real gateway is configured.</small></p>
</div></body></html>"""
ITEMS = """<table id="items"><thead><tr><th>Item</th><th class="n">Qty</th><th class="n">Amount</th></tr></thead>
<tbody>{rows}</tbody></table>"""
FORM = """<form method="post"><input type="hidden" name="csrf" value="{csrf}">
<fieldset><legend>Scripted behaviour (for rehearsing failures)</legend>
<label for="behaviour">Behaviour</label><select id="behaviour" name="behaviour">{behaviours}</select>
<label for="seconds">Seconds (slow, timeout, delayed; empty: the behaviour's default)</label>
<input id="seconds" name="seconds" type="number" min="0" max="{max_seconds}" value="{seconds}">
<label for="reason">Decline reason</label>
<input id="reason" name="reason" list="reasons" maxlength="{max_reason}" value="{reason}">
<datalist id="reasons">{reasons}</datalist></fieldset>
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


def money(minor: int, currency: str) -> str:
    """``NGN 1,500.00``, ``JPY 1,500``, ``KWD 1.500``: the currency's own minor-unit exponent."""
    return f"{currency} {Money(minor, currency).to_major():,}"


def _note(txn: dict) -> str:
    if txn["status"] == "declined":
        return f' <span class="reason" id="reason-shown">({html.escape(txn.get("reason") or "no reason given")})</span>'
    if txn["status"] == "processing":
        return " (the outcome comes later, with its webhook)"
    return ""


def _form(ctx: Ctx, reference: str, nonce: str, picked: SandboxScriptQuery) -> str:
    chosen = picked.behaviour or "none"
    options = "".join(f'<option value="{name}"{" selected" if name == chosen else ""}>{html.escape(label)}</option>'
                      for name, label in BEHAVIOURS.items())
    return FORM.format(csrf=browser.csrf_token(ctx.services.sandbox.secret, reference, nonce), behaviours=options,
                       max_seconds=MAX_SECONDS, seconds="" if picked.seconds is None else picked.seconds,
                       max_reason=MAX_REASON, reason=html.escape(picked.reason or ""),
                       reasons="".join(f'<option value="{r}">' for r in REASONS))


def _rows(txn: dict) -> str:
    """The order's lines, and what the total adds to them (shipping, tax, discounts) when it does."""
    items = txn.get("items") or ()
    lines = [(str(name), str(int(quantity)), int(total)) for name, quantity, total in items]
    rest = txn["amount"] - sum(total for _, _, total in lines)
    if lines and rest:
        lines.append(("Shipping, tax and discounts", "", rest))
    return "".join(f'<tr><td>{html.escape(name)}</td><td class="n">{quantity}</td>'
                   f'<td class="n">{html.escape(money(total, txn["currency"]))}</td></tr>'
                   for name, quantity, total in lines)


@routes.endpoint("GET", "/sandbox/pay/{reference}", summary="Sandbox hosted payment page (the query preselects a "
                 "scripted behaviour)", auth="none", content_type="text/html", rate_limit="sandbox_ip",
                 query=SandboxScriptQuery)
async def page(ctx: Ctx):
    reference, txn = await _txn(ctx)
    picked = ctx.query
    nonce = secrets.token_urlsafe(16)
    rows = _rows(txn)
    body = PAGE.format(
        shop=html.escape(ctx.services.sandbox.shop_name), amount=html.escape(money(txn["amount"], txn["currency"])),
        order=html.escape(txn.get("order_number") or reference), description=html.escape(txn["description"]),
        status=html.escape(txn["status"]), note=_note(txn), items=ITEMS.format(rows=rows) if rows else "",
        form=_form(ctx, reference, nonce, picked) if txn["status"] == "pending" else "")
    # same-origin, not no-referrer: under no-referrer a browser posts the form with ``Origin: null``,
    # which the CSRF check refuses; nothing is sent to another origin either way
    response = web.Response(text=body, content_type="text/html",
                            headers={"Cache-Control": "no-store", "Content-Security-Policy": _csp(ctx),
                                     "Referrer-Policy": "same-origin"})
    response.set_cookie(browser.CSRF_COOKIE, nonce, path=f"/sandbox/pay/{reference}", httponly=True,
                        samesite="Strict", max_age=3600)
    return response


@routes.endpoint("POST", "/sandbox/pay/{reference}", summary="Approve or decline (form field outcome=approve|decline; "
                 "behaviour, seconds and reason script the gateway's answer; a browser sends the page's csrf field "
                 "with its cookie)", auth="none", status=303, form=SandboxOutcomeIn, rate_limit="sandbox_ip")
async def settle(ctx: Ctx):
    reference = _enabled_reference(ctx)  # an unknown reference is a 404 from settle (one read, not two)
    form = await read_form(ctx.request)
    outcome = form.get("outcome")
    if outcome not in ("approve", "decline"):
        return problem(422, "Validation failed", "outcome must be approve or decline", "validation_error",
                       errors=[{"field": "outcome", "message": "approve or decline"}])
    picked = parse_fields(SandboxScriptQuery, {k: form[k] for k in ("behaviour", "seconds", "reason") if k in form})
    csrf = form.get("csrf")
    if not browser.csrf_ok(ctx.request, ctx.services.sandbox.secret, reference,
                           csrf if isinstance(csrf, str) else None, ctx.services.edge.own_origins):
        return problem(403, "Forbidden", "submit the form of the payment page you loaded", "csrf_failed")
    txn, headers, body = await ctx.services.sandbox.settle(
        reference, outcome == "approve", Script.of(picked.behaviour, picked.seconds, picked.reason))
    if body is not None:  # the gateway's webhook: through the same verify -> inbox -> process path
        await deliver(ctx.services.webhooks, headers, body)
    callback = urlsplit(txn["callback_url"])
    raise web.HTTPSeeOther(f"{callback.path}?{callback.query}")
