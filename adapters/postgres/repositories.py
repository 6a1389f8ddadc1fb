"""Postgres repositories, one per aggregate, used through a PostgresUnitOfWork.

They keep the memory repositories' contract (``adapters/memory/repositories.py``): the same
AlreadyExists cases and messages, ``False`` from the inbox and notifications on a duplicate.
"""
from __future__ import annotations

from collections.abc import Sequence

from adapters.postgres import mapping as m
from adapters.postgres.repo_base import Repository
from application.errors import AlreadyExists
from domain.catalog import Category, Coupon, Product
from domain.notifications import Notification
from domain.orders import Order
from domain.payments import PaymentIntent, Refund, Transaction
from domain.users import User
from domain.webhooks import WebhookEvent

_ACTIVE = "status IN ('requires_payment_method', 'requires_action', 'processing')"


class PostgresUsers(Repository):
    """Users; emails are unique regardless of case."""

    table = m.USERS

    async def get_by_email(self, email: str) -> User | None:
        return await self._first("lower(email) = lower(%s)", [email])

    async def add(self, user: User) -> None:
        if not await self._insert(user):
            if await self.get_by_email(user.email):
                raise AlreadyExists("a user with this email exists", field="email")
            raise AlreadyExists(f"users {user.id} exists")


class PostgresProducts(Repository):
    """Products (unique sku) and categories."""

    table = m.PRODUCTS

    async def get_by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        if not skus:
            return {}
        return {p.sku: p for p in await self._select("sku = ANY(%s)", [list(skus)])}

    async def lock_by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        """Locks in sku order, so two checkouts of the same products cannot deadlock."""
        if not skus:
            return {}
        found = await self._select("sku = ANY(%s)", [sorted(set(skus))], order="sku", lock=True)
        return {p.sku: p for p in found}

    async def add(self, product: Product) -> None:
        if not await self._insert(product):
            if await self.get_by_skus([product.sku]):
                raise AlreadyExists(f"sku {product.sku} exists", field="sku")
            raise AlreadyExists(f"products {product.id} exists")

    async def add_category(self, category: Category) -> None:
        """Creates or renames the category (as the memory adapter does)."""
        await self.uow.execute("INSERT INTO categories (slug, name) VALUES (%s, %s) "
                               "ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name",
                               [category.slug, category.name])


class PostgresCoupons(Repository):
    """Coupons keyed by their upper-cased code."""

    table = m.COUPONS

    def _param(self, key: str) -> str:
        return key.upper()

    async def add(self, coupon: Coupon) -> None:
        if not await self._insert(coupon):
            raise AlreadyExists(f"coupons {coupon.code.upper()} exists")


class PostgresOrders(Repository):
    """Orders with their items (``order_items``, written once: items never change)."""

    table = m.ORDERS

    async def get_by_checkout(self, checkout_id: str) -> Order | None:
        return await self._first("checkout_id = %s", [checkout_id])

    async def add(self, order: Order) -> None:
        if not await self._insert(order):
            if order.checkout_id and await self.get_by_checkout(order.checkout_id):
                raise AlreadyExists("this checkout was already confirmed", checkout_id=order.checkout_id)
            raise AlreadyExists(f"orders {order.id} exists")
        items = m.order_item_rows(order)
        if items:
            columns = list(items[0])
            values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(items))
            await self.uow.execute(f"INSERT INTO order_items ({', '.join(columns)}) VALUES {values}",
                                   [row[c] for row in items for c in columns])


class PostgresPayments(Repository):
    """Payment intents: unique reference, unique (gateway, gateway_reference), one active per order."""

    table = m.PAYMENTS

    async def get_by_reference(self, reference: str) -> PaymentIntent | None:
        return await self._first("reference = %s", [reference])

    async def lock_by_reference(self, reference: str) -> PaymentIntent | None:
        return await self._first("reference = %s", [reference], lock=True)

    async def active_for_order(self, order_id: str) -> PaymentIntent | None:
        return await self._first(f"order_id = %s AND {_ACTIVE}", [order_id])

    async def add(self, payment: PaymentIntent) -> None:
        if not await self._insert(payment):
            if await self.get_by_reference(payment.reference):
                raise AlreadyExists("payment reference exists", reference=payment.reference)
            if await self.active_for_order(payment.order_id):
                raise AlreadyExists("the order already has a payment in progress", order_id=payment.order_id)
            raise AlreadyExists(f"payments {payment.id} exists", gateway_reference=payment.gateway_reference)


class PostgresRefunds(Repository):
    """Refunds; the schema also refuses non-failed refunds above the captured amount."""

    table = m.REFUNDS

    async def for_payment(self, payment_id: str) -> list[Refund]:
        return await self._select("payment_id = %s", [payment_id], order="created_at, id")

    async def add(self, refund: Refund) -> None:
        if not await self._insert(refund):
            raise AlreadyExists(f"refunds {refund.id} exists")


class PostgresLedger:
    """Append-only: rows are inserted, never updated (a trigger refuses updates but ``reconciled``)."""

    def __init__(self, uow) -> None:
        self.uow = uow

    async def append(self, transaction: Transaction) -> None:
        """AlreadyExists for a reused id, or a second successful capture of a payment (or refund)."""
        sql = f"{m.TRANSACTIONS.insert_sql()} ON CONFLICT DO NOTHING"
        if not await self.uow.execute(sql, m.TRANSACTIONS.to_row(transaction)):
            raise AlreadyExists("the ledger already records this money movement",
                                transaction_id=transaction.id, payment_id=transaction.payment_id)

    async def for_payment(self, payment_id: str) -> list[Transaction]:
        rows = await self.uow.fetch(f"{m.TRANSACTIONS.select()} WHERE payment_id = %s ORDER BY t.seq",
                                    [payment_id])
        return [m.TRANSACTIONS.from_row(row) for row in rows]


class PostgresWebhooks(Repository):
    """The webhook inbox; (gateway, event_id) is unique."""

    table = m.WEBHOOKS

    async def add(self, event: WebhookEvent) -> bool:
        if await self._insert(event):
            return True
        if not await self.uow.fetch("SELECT 1 FROM webhook_events WHERE gateway = %s AND event_id = %s",
                                    [event.gateway, event.event_id]):
            raise AlreadyExists(f"webhooks {event.id} exists")
        return False

    async def pending(self, limit: int) -> list[WebhookEvent]:
        return await self._select("status IN ('received', 'failed')", [], order="received_at, id", limit=limit)


class PostgresNotifications(Repository):
    """In-app notifications; (user_id, event_key) is unique when event_key is set."""

    table = m.NOTIFICATIONS

    async def add(self, notification: Notification) -> bool:
        if await self._insert(notification):
            return True
        if notification.event_key is None or not await self.uow.fetch(
                "SELECT 1 FROM notifications WHERE user_id = %s AND event_key = %s",
                [notification.user_id, notification.event_key]):
            raise AlreadyExists(f"notifications {notification.id} exists")
        return False

    async def add_at_commit(self, notification: Notification) -> None:
        self.uow.defer(f"{self.table.insert_sql()} ON CONFLICT DO NOTHING", self.table.to_row(notification))
