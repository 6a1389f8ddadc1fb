"""The storefront's domain objects -> their JSON shapes (``storefront_schemas``)."""
from __future__ import annotations

from domain.catalog import Tag
from domain.faq import FaqEntry, FaqPage, FaqSection
from domain.reviews import Review
from domain.support import ContactMessage, Ticket, TicketMessage
from domain.users import User
from entrypoints.http.presenters import ts
from entrypoints.http.presenters import user as user_out


def tag(t: Tag) -> dict:
    return {"slug": t.slug, "name": t.name}


def wished(item) -> dict:
    """An ``application.wishlist.WishedProduct``."""
    return {"sku": item.sku, "added_at": ts(item.added_at), "product_id": item.product_id, "name": item.name,
            "price": item.price, "currency": item.currency, "available": item.available}


def review(r: Review) -> dict:
    return {"id": r.id, "product_id": r.product_id, "author_name": r.author_name, "rating": r.rating,
            "body": r.body, "created_at": ts(r.created_at), "updated_at": ts(r.updated_at), "hidden": r.hidden}


def review_admin(r: Review) -> dict:
    return {**review(r), "author_id": r.author_id, "hidden_reason": r.hidden_reason}


def message(m: TicketMessage) -> dict:
    return {"id": m.id, "author_role": m.author_role.value, "body": m.body, "created_at": ts(m.created_at)}


def ticket_summary(t: Ticket) -> dict:
    return {"id": t.id, "subject": t.subject, "status": t.status.value, "order_id": t.order_id,
            "assignee_id": t.assignee_id, "message_count": len(t.messages), "created_at": ts(t.created_at),
            "updated_at": ts(t.updated_at), "settled_at": ts(t.settled_at)}


def ticket(t: Ticket) -> dict:
    return {**ticket_summary(t), "messages": [message(m) for m in t.messages]}


def contact_received(c: ContactMessage) -> dict:
    return {"id": c.id, "received": True, "created_at": ts(c.created_at)}


def contact_message(c: ContactMessage) -> dict:
    return {"id": c.id, "name": c.name, "email": c.email, "message": c.message, "created_at": ts(c.created_at),
            "sender_id": c.sender_id}


def faq_section(s: FaqSection) -> dict:
    return {"slug": s.slug, "title": s.title, "position": s.position}


def faq_entry(e: FaqEntry) -> dict:
    return {"id": e.id, "question": e.question, "answer": e.answer, "position": e.position}


def faq_entry_admin(e: FaqEntry) -> dict:
    return {**faq_entry(e), "section": e.section, "updated_at": ts(e.updated_at)}


def faq(page: FaqPage) -> dict:
    return {"sections": [{**faq_section(s), "entries": [faq_entry(e) for e in entries]}
                         for s, entries in page.sections]}


def profile(u: User) -> dict:
    address = u.default_address
    return {**user_out(u), "phone": u.phone,
            "default_address": None if address is None else {"country": address.country, "city": address.city,
                                                             "line1": address.line1,
                                                             "postal_code": address.postal_code}}
