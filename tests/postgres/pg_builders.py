"""Domain objects for the Postgres and contract tests (valid by default, overridable)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.catalog import Category, Coupon, CouponKind, Product
from domain.checkout import LineItem
from domain.money import Money
from domain.notifications import Notification
from domain.orders import Order
from domain.payments import PaymentIntent, Refund, Transaction, TransactionStatus, TransactionType
from domain.users import Principal, Role, User
from domain.webhooks import WebhookEvent, WebhookStatus

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def principal(user_id: str = "usr_1") -> Principal:
    return Principal(user_id, Role.CUSTOMER, f"{user_id}@example.com", "Ada")


def user(user_id: str = "usr_1", email: str = "ada@example.com") -> User:
    return User(user_id, email, "Ada", "hash", Role.CUSTOMER, T0)


def product(sku: str = "TEE-1", *, id: str | None = None, stock: int = 10, category: str = "tees",
            active: bool = True, name: str | None = None) -> Product:
    return Product(id or f"prd_{sku}", sku, name or f"Shirt {sku}", Money(1500, "NGN"), stock, category, active)


def category(slug: str = "tees") -> Category:
    return Category(slug, slug.title())


def coupon(code: str = "WELCOME10") -> Coupon:
    return Coupon(code, CouponKind.PERCENT, 1000, max_uses=5)


def order(id: str = "ord_1", *, owner: str = "usr_1", now: datetime = T0, checkout_id: str | None = None,
          workspace_id: str | None = None, number: str | None = None) -> Order:
    items = [LineItem("TEE-1", "prd_TEE-1", "Shirt", 1500, 2), LineItem("CAP-1", "prd_CAP-1", "Cap", 1000, 1)]
    return Order.place(id=id, order_number=number or f"PP-260101-{id.upper()}", owner=principal(owner),
                       items=items, currency="NGN", subtotal=4000, discount=0, shipping=500, tax=300,
                       total=4800, now=now, workspace_id=workspace_id, checkout_id=checkout_id)


def payment(id: str = "pay_1", *, order_id: str = "ord_1", owner: str = "usr_1", reference: str | None = None,
            amount: int = 4800, now: datetime = T0) -> PaymentIntent:
    return PaymentIntent.create(id=id, order_id=order_id, owner_id=owner, amount=amount, currency="NGN",
                                gateway="sandbox", reference=reference or f"ref_{id}", now=now)


def succeeded(pay: PaymentIntent, ord: Order, now: datetime = T0) -> PaymentIntent:
    pay.succeed(ord.context(), pay.amount, f"gw_{pay.id}", now)
    return pay


def refund(id: str, pay: PaymentIntent, ord: Order, amount: int | None, now: datetime = T0,
           existing: tuple = ()) -> Refund:
    return Refund.request(id=id, payment=pay, existing=existing, amount=amount, reason="requested_by_customer",
                          description=None, ctx=ord.context(), now=now)


def transaction(id: str, pay: PaymentIntent, *, status: TransactionStatus = TransactionStatus.SUCCEEDED,
                type: TransactionType = TransactionType.PAYMENT, refund_id: str | None = None) -> Transaction:
    return Transaction(id, pay.id, pay.order_id, type, pay.amount, pay.currency, status, pay.gateway, T0,
                       gateway_reference=f"gw_{pay.id}", refund_id=refund_id)


def webhook(id: str = "wh_1", *, event_id: str = "evt_1", gateway: str = "sandbox", now: datetime = T0) -> WebhookEvent:
    return WebhookEvent(id, gateway, event_id, "charge.success", '{"ok": true}', True, WebhookStatus.RECEIVED, now,
                        reference="ref_pay_1")


def notification(id: str = "ntf_1", *, user_id: str = "usr_1", event_key: str | None = "evt:1",
                 now: datetime = T0, read: bool = False) -> Notification:
    return Notification(id, user_id, "order_created", "Order created", "Your order was created.", now, read,
                        event_key)
