"""Domain objects -> the JSON shapes of DESIGN.md §5."""
from __future__ import annotations

from datetime import datetime

from domain.catalog import Category, Product
from domain.checkout import CheckoutSession, LineItem
from domain.notifications import Notification
from domain.orders import Order
from domain.payments import PaymentIntent, Refund
from domain.users import User


def ts(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def user(u: User) -> dict:
    return {"id": u.id, "email": u.email, "name": u.name, "role": u.role.value}


def product(p: Product) -> dict:
    return {"id": p.id, "sku": p.sku, "name": p.name, "price": p.price.amount, "currency": p.price.currency,
            "stock": p.stock, "category": p.category, "active": p.active, "tags": list(p.tags), "shippable": p.shippable,
            "rating": {"average": p.rating.average, "count": p.rating.count}}


def category(c: Category) -> dict:
    return {"slug": c.slug, "name": c.name}


def line(i: LineItem) -> dict:
    return {"sku": i.sku, "name": i.name, "quantity": i.quantity, "unit_price": i.unit_price, "total": i.total}


def checkout(s: CheckoutSession) -> dict:
    summary = s.summary()
    return {
        "checkout_id": s.id, "items": [line(i) for i in s.items],
        "summary": {"subtotal": summary.subtotal, "discount": summary.discount, "shipping": summary.shipping,
                    "tax": summary.tax, "total": summary.total, "currency": summary.currency,
                    "tax_inclusive": summary.tax_inclusive},
        "coupon": s.coupon_code, "shipping_method": s.shipping_method.value if s.shipping_method else None,
        "address": None if s.address is None else {"country": s.address.country, "city": s.address.city,
                                                    "line1": s.address.line1, "postal_code": s.address.postal_code},
        "expires_at": ts(s.expires_at), "updated_at": ts(s.updated_at),
    }


def order(o: Order) -> dict:
    return {"id": o.id, "order_number": o.order_number, "status": o.status.value, "items": [line(i) for i in o.items],
            "subtotal": o.subtotal, "discount": o.discount, "shipping": o.shipping, "tax": o.tax, "total": o.total,
            "currency": o.currency, "coupon": o.coupon_code, "workspace_id": o.workspace_id,
            "created_at": ts(o.created_at), "updated_at": ts(o.updated_at), "version": o.version,
            "paid_at": ts(o.paid_at), "completed_at": ts(o.completed_at),
            "fulfilment": None if o.carrier is None and o.tracking_number is None
            else {"carrier": o.carrier, "tracking_number": o.tracking_number},
            "cancellation": None if o.cancelled_at is None
            else {"at": ts(o.cancelled_at), "by": o.cancelled_by, "reason": o.cancel_reason,
                  "refund_id": o.cancel_refund_id, "refund_pending": o.refund_pending},
            "status_history": [{"from": h.from_status, "to": h.to_status, "at": ts(h.at), "by": h.by, "note": h.note}
                               for h in o.status_history]}


def payment(p: PaymentIntent) -> dict:
    return {"id": p.id, "order_id": p.order_id, "reference": p.reference, "status": p.status.value,
            "amount": p.amount, "currency": p.currency, "gateway": p.gateway,
            "authorization_url": p.authorization_url, "captured_amount": p.captured_amount,
            "last_error": p.last_error, "expires_at": ts(p.expires_at), "created_at": ts(p.created_at),
            "updated_at": ts(p.updated_at), "gateway_reference": p.gateway_reference, "attempts": p.attempts,
            "payment_method": p.payment_method, "paid_at": ts(p.paid_at), "late_capture": p.late_capture,
            "review_reason": p.review_reason}


def payment_outcome(p: PaymentIntent) -> dict:
    """What an unauthenticated caller holding the reference learns: the outcome, nothing more (no
    gateway error, no payment page)."""
    return {"id": p.id, "order_id": p.order_id, "reference": p.reference, "status": p.status.value,
            "amount": p.amount, "currency": p.currency, "gateway": p.gateway, "captured_amount": p.captured_amount}


def refund(r: Refund) -> dict:
    return {"id": r.id, "payment_id": r.payment_id, "order_id": r.order_id, "amount": r.amount,
            "currency": r.currency, "reason": r.reason, "description": r.description, "status": r.status.value,
            "created_at": ts(r.created_at), "updated_at": ts(r.updated_at), "gateway_refund_id": r.gateway_refund_id,
            "attempts": r.attempts, "needs_attention": r.needs_attention, "attention": r.attention}


def notification(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "read": n.read,
            "created_at": ts(n.created_at)}


def page(p, present) -> dict:
    return {"results": [present(x) for x in p.results], "next_cursor": p.next_cursor}


def priced_cart(c) -> dict:
    """A ``domain.cart.PricedCart``."""
    return {"items": [{"sku": i.sku, "product_id": i.product_id, "name": i.name, "quantity": i.quantity,
                       "unit_price": i.unit_price, "total": i.total, "available": i.available, "issue": i.issue}
                      for i in c.lines],
            "subtotal": c.subtotal, "currency": c.currency, "item_count": c.item_count,
            "updated_at": ts(c.cart.updated_at)}


def saved_address(a) -> dict:
    return {"id": a.id, "label": a.label, "country": a.country, "city": a.city, "line1": a.line1,
            "postal_code": a.postal_code, "created_at": ts(a.created_at)}


def station(st) -> dict:
    return {"id": st.id, "name": st.name, "city": st.city, "country": st.country, "line1": st.line1}


def coupon(c) -> dict:
    return {"code": c.code, "kind": c.kind.value, "value": c.value, "currency": c.currency,
            "min_subtotal": c.min_subtotal, "valid_from": ts(c.valid_from), "valid_until": ts(c.valid_until),
            "max_uses": c.max_uses, "max_uses_per_user": c.max_uses_per_user, "uses": c.uses, "active": c.active}
