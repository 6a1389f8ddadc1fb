"""Memory repositories: thin views over a MemoryUnitOfWork, enforcing the same constraints as Postgres."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from application.errors import AlreadyExists
from domain.catalog import Category, Coupon, Product
from domain.notifications import Notification
from domain.orders import Order
from domain.payments import PAYMENT_TERMINAL, PaymentIntent, Refund, Transaction
from domain.users import User
from domain.webhooks import WebhookEvent, WebhookStatus

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryUnitOfWork


class _Table:
    def __init__(self, uow: MemoryUnitOfWork, table: str) -> None:
        self.uow, self.table = uow, table

    async def get(self, key: str) -> Any | None:
        return self.uow.read(self.table, key)

    async def lock(self, key: str) -> Any | None:
        return self.uow.read(self.table, key)  # the unit of work already holds the store lock

    def _find(self, predicate) -> Any | None:
        return next(iter(self._find_all(predicate)), None)

    def _find_all(self, predicate) -> list[Any]:
        """Matching rows as this unit of work sees them; only the matches are copied."""
        return [self.uow.read(self.table, key) for key in self.uow.keys_where(self.table, predicate)]

    def _insert(self, key: str, obj: Any) -> None:
        if self.uow.read(self.table, key) is not None:
            raise AlreadyExists(f"{self.table} {key} exists")
        self.uow.write(self.table, key, obj, new=True)

    async def save(self, obj: Any) -> None:
        self.uow.write(self.table, self._key(obj), obj, new=False)

    def _key(self, obj: Any) -> str:
        return obj.id


class MemoryUsers(_Table):
    async def get_by_email(self, email: str) -> User | None:
        email = email.lower()
        return self._find(lambda u: u.email.lower() == email)

    async def add(self, user: User) -> None:
        if await self.get_by_email(user.email):
            raise AlreadyExists("a user with this email exists", field="email")
        self._insert(user.id, user)


class MemoryProducts(_Table):
    async def get_by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        wanted = set(skus)
        return {p.sku: p for p in self._find_all(lambda p: p.sku in wanted)}

    lock_by_skus = get_by_skus

    async def add(self, product: Product) -> None:
        if await self.get_by_skus([product.sku]):
            raise AlreadyExists(f"sku {product.sku} exists", field="sku")
        self._insert(product.id, product)

    async def add_category(self, category: Category) -> None:
        self.uow.write("categories", category.slug, category, new=True)


class MemoryCoupons(_Table):
    def _key(self, obj: Coupon) -> str:
        return obj.code.upper()

    async def get(self, code: str) -> Coupon | None:
        return self.uow.read(self.table, code.upper())

    lock = get

    async def add(self, coupon: Coupon) -> None:
        self._insert(coupon.code.upper(), coupon)


class MemoryOrders(_Table):
    async def get_by_checkout(self, checkout_id: str) -> Order | None:
        return self._find(lambda o: o.checkout_id == checkout_id)

    async def add(self, order: Order) -> None:
        if order.checkout_id and await self.get_by_checkout(order.checkout_id):
            raise AlreadyExists("this checkout was already confirmed", checkout_id=order.checkout_id)
        self._insert(order.id, order)


class MemoryPayments(_Table):
    async def get_by_reference(self, reference: str) -> PaymentIntent | None:
        return self._find(lambda p: p.reference == reference)

    lock_by_reference = get_by_reference

    async def active_for_order(self, order_id: str) -> PaymentIntent | None:
        return self._find(lambda p: p.order_id == order_id and p.status not in PAYMENT_TERMINAL)

    async def add(self, payment: PaymentIntent) -> None:
        if await self.get_by_reference(payment.reference):
            raise AlreadyExists("payment reference exists", reference=payment.reference)
        if await self.active_for_order(payment.order_id):
            raise AlreadyExists("the order already has a payment in progress", order_id=payment.order_id)
        self._insert(payment.id, payment)

    async def save(self, payment: PaymentIntent) -> None:
        if payment.status not in PAYMENT_TERMINAL:
            other = self._find(lambda p: p.order_id == payment.order_id and p.id != payment.id
                               and p.status not in PAYMENT_TERMINAL)
            if other:
                raise AlreadyExists("the order already has a payment in progress", order_id=payment.order_id)
        await super().save(payment)


class MemoryRefunds(_Table):
    async def for_payment(self, payment_id: str) -> list[Refund]:
        return self._find_all(lambda r: r.payment_id == payment_id)

    async def add(self, refund: Refund) -> None:
        self._insert(refund.id, refund)


class MemoryLedger:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    async def append(self, transaction: Transaction) -> None:
        self.uow.append_ledger(transaction)

    async def for_payment(self, payment_id: str) -> list[Transaction]:
        rows = self.uow.store.ledger + self.uow._ledger
        return [t for t in rows if t.payment_id == payment_id]


class MemoryWebhooks(_Table):
    async def add(self, event: WebhookEvent) -> bool:
        if self._find(lambda w: w.gateway == event.gateway and w.event_id == event.event_id):
            return False
        self._insert(event.id, event)
        return True

    async def pending(self, limit: int) -> list[WebhookEvent]:
        rows = self._find_all(lambda w: w.status in (WebhookStatus.RECEIVED, WebhookStatus.FAILED))
        return sorted(rows, key=lambda w: w.received_at)[:limit]


class MemoryNotifications(_Table):
    async def add(self, notification: Notification) -> bool:
        key = notification.event_key
        if key and self._find(lambda n: n.event_key == key and n.user_id == notification.user_id):
            return False
        self._insert(notification.id, notification)
        return True

    async def add_at_commit(self, notification: Notification) -> None:
        await self.add(notification)  # writes are applied at commit here anyway
