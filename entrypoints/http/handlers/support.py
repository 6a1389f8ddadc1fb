"""Support: tickets (a customer's own; staff see all), the contact form (anyone, limited per client
IP), the FAQ (cached 15 minutes, invalidated by every admin write)."""
from __future__ import annotations

from application import cache_keys as keys
from entrypoints.http import cached
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http import shop_schemas as shop
from entrypoints.http import storefront_presenters as show
from entrypoints.http import storefront_schemas as sf
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.params import Page

P = "/api/v1"
T = f"{P}/support/tickets"
routes = RouteTable("support")
NO_STORE = {"Cache-Control": "no-store"}


def _ticket_id(ctx: Ctx) -> str:
    return ctx.request.match_info["ticket_id"]


def _ticket(ticket, status: int = 200):
    return json_response(show.ticket(ticket), status, NO_STORE)


@routes.endpoint("GET", T, summary="Your tickets, newest first (staff: every ticket, by status or assignee)",
                 response=s.page_of(sf.TicketSummaryOut), query=sf.TicketsQuery)
async def list_tickets(ctx: Ctx):
    q = ctx.query
    page = await ctx.services.support_tickets.list(ctx.user, status=q.status, assignee_id=q.assignee_id,
                                                   limit=q.limit, cursor=q.cursor)
    return json_response(present.page(page, show.ticket_summary), headers=NO_STORE)


@routes.endpoint("POST", T, summary="Open a ticket (about an order of yours, if order_id is given)",
                 body=sf.TicketIn, response=sf.TicketOut, status=201, rate_limit="ticket_open")
async def open_ticket(ctx: Ctx):
    b = ctx.body
    ticket = await ctx.services.support_tickets.open(ctx.user, subject=b.subject, body=b.body, order_id=b.order_id)
    return _ticket(ticket, 201)


@routes.endpoint("GET", T + "/{ticket_id}", summary="A ticket and its thread", response=sf.TicketOut)
async def get_ticket(ctx: Ctx):
    return _ticket(await ctx.services.support_tickets.get(ctx.user, _ticket_id(ctx)))


@routes.endpoint("POST", T + "/{ticket_id}/messages", summary="Reply in a ticket's thread (a staff reply tells "
                 "the customer; the customer's reopens a settled ticket within 14 days)", body=sf.MessageIn,
                 response=sf.TicketOut, status=201, rate_limit="ticket_reply")
async def reply(ctx: Ctx):
    ticket, _ = await ctx.services.support_tickets.reply(ctx.user, _ticket_id(ctx), ctx.body.body)
    return _ticket(ticket, 201)


@routes.endpoint("POST", T + "/{ticket_id}/reopen", summary="Reopen your resolved or closed ticket (within 14 "
                 "days of its settling)", response=sf.TicketOut)
async def reopen(ctx: Ctx):
    return _ticket(await ctx.services.support_tickets.reopen(ctx.user, _ticket_id(ctx)))


@routes.endpoint("POST", P + "/admin/support/tickets/{ticket_id}/status", summary="Move a ticket: pending, "
                 "resolved, closed (staff)", body=sf.TicketStatusIn, response=sf.TicketOut)
async def set_status(ctx: Ctx):
    return _ticket(await ctx.services.support_tickets.set_status(ctx.user, _ticket_id(ctx), ctx.body.status))


@routes.endpoint("POST", P + "/admin/support/tickets/{ticket_id}/assign", summary="Give a ticket to a staff "
                 "member, or to nobody (staff)", body=sf.AssignIn, response=sf.TicketOut)
async def assign(ctx: Ctx):
    return _ticket(await ctx.services.support_tickets.assign(ctx.user, _ticket_id(ctx), ctx.body.assignee_id))


@routes.endpoint("POST", P + "/support/contact", summary="Write to us (no account needed; limited per client IP)",
                 body=sf.ContactIn, response=sf.ContactReceivedOut, status=201, auth="none", rate_limit="contact")
async def contact(ctx: Ctx):
    b = ctx.body
    sent = await ctx.services.contact_form.send(None, name=b.name, email=b.email, message=b.message)
    return json_response(show.contact_received(sent), 201, NO_STORE)


@routes.endpoint("GET", P + "/admin/support/contact", summary="What came in through the contact form (staff)",
                 response=s.page_of(sf.ContactMessageOut), query=Page)
async def contact_messages(ctx: Ctx):
    page = await ctx.services.contact_form.list(ctx.user, limit=ctx.query.limit, cursor=ctx.query.cursor)
    return json_response(present.page(page, show.contact_message), headers=NO_STORE)


# -- the FAQ --------------------------------------------------------------------------------------
@routes.endpoint("GET", P + "/faq", summary="Questions and answers, in ordered sections", response=sf.FaqOut,
                 auth="optional", cached=cached.one("faq", "faq", lambda path: keys.FAQ))
async def faq(ctx: Ctx):
    return None, show.faq(await ctx.services.faq.page())


@routes.endpoint("PUT", P + "/admin/faq/sections/{slug}", summary="Create or rename (and move) an FAQ section "
                 "(admins)", body=sf.FaqSectionIn, response=sf.FaqSectionOut)
async def put_section(ctx: Ctx):
    section = await ctx.services.faq.put_section(ctx.user, ctx.request.match_info["slug"], ctx.body.title,
                                                 ctx.body.position)
    return json_response(show.faq_section(section))


@routes.endpoint("DELETE", P + "/admin/faq/sections/{slug}", summary="Delete an empty FAQ section (admins)",
                 response=shop.DeletedOut)
async def delete_section(ctx: Ctx):
    await ctx.services.faq.delete_section(ctx.user, ctx.request.match_info["slug"])
    return json_response({"deleted": True})


@routes.endpoint("POST", P + "/admin/faq/entries", summary="Add a question and its answer to a section (admins)",
                 body=sf.FaqEntryIn, response=sf.FaqEntryAdminOut, status=201)
async def add_entry(ctx: Ctx):
    entry = await ctx.services.faq.add_entry(ctx.user, **ctx.body.model_dump())
    return json_response(show.faq_entry_admin(entry), 201)


@routes.endpoint("PATCH", P + "/admin/faq/entries/{entry_id}", summary="Change an FAQ entry (admins)",
                 body=sf.FaqEntryEditIn, response=sf.FaqEntryAdminOut)
async def revise_entry(ctx: Ctx):
    entry = await ctx.services.faq.revise_entry(ctx.user, ctx.request.match_info["entry_id"],
                                                **ctx.body.model_dump(exclude_none=True))
    return json_response(show.faq_entry_admin(entry))


@routes.endpoint("DELETE", P + "/admin/faq/entries/{entry_id}", summary="Delete an FAQ entry (admins)",
                 response=shop.DeletedOut)
async def delete_entry(ctx: Ctx):
    await ctx.services.faq.delete_entry(ctx.user, ctx.request.match_info["entry_id"])
    return json_response({"deleted": True})
