"""Persistence ports: repositories inside a per-request unit of work, and the read-model query port."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import attrs

from domain.cart import Cart
from domain.catalog import Category, Coupon, CouponRedemption, Product
from domain.delivery import SavedAddress
from domain.events import DomainEvent
from domain.notifications import Notification
from domain.orders import Order
from domain.payments import PaymentIntent, Refund, Transaction
from domain.users import User
from domain.webhooks import WebhookEvent


class UserRepository(Protocol):
    """Users by id and by (case-insensitive) email. ``add`` raises AlreadyExists on a taken email."""

    async def get(self, user_id: str) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def add(self, user: User) -> None: ...


class ProductRepository(Protocol):
    """Products. ``lock_by_skus`` locks the rows until the unit of work ends (stock decisions)."""

    async def get(self, product_id: str) -> Product | None: ...
    async def get_by_skus(self, skus: Sequence[str]) -> dict[str, Product]: ...
    async def lock_by_skus(self, skus: Sequence[str]) -> dict[str, Product]: ...
    async def add(self, product: Product) -> None: ...
    async def save(self, product: Product) -> None: ...
    async def add_category(self, category: Category) -> None: ...


class CouponRepository(Protocol):
    """Coupons by (upper-case) code; ``lock`` for counting a use atomically."""

    async def get(self, code: str) -> Coupon | None: ...
    async def lock(self, code: str) -> Coupon | None: ...
    async def add(self, coupon: Coupon) -> None: ...
    async def save(self, coupon: Coupon) -> None: ...


class CartRepository(Protocol):
    """One cart per owner id. ``save`` checks the version loaded (optimistic; ConcurrencyConflict),
    and inserts a cart never loaded (ConcurrencyConflict if another request created it first)."""

    async def get(self, owner_id: str) -> Cart | None: ...
    async def save(self, cart: Cart) -> None: ...
    async def delete(self, owner_id: str) -> None: ...


class AddressRepository(Protocol):
    """Saved addresses; ``for_owner`` newest first."""

    async def get(self, address_id: str) -> SavedAddress | None: ...
    async def for_owner(self, owner_id: str) -> list[SavedAddress]: ...
    async def add(self, address: SavedAddress) -> None: ...
    async def delete(self, address_id: str) -> None: ...


class CouponRedemptionRepository(Protocol):
    """Uses of coupons by orders. Read and added under the coupon's row lock, so per-user counts are
    atomic; ``add`` raises AlreadyExists for a second use by the same order."""

    async def count_for_user(self, code: str, user_id: str) -> int: ...
    async def add(self, redemption: CouponRedemption) -> None: ...


class OrderRepository(Protocol):
    """Orders. ``save`` checks the version loaded (optimistic) and raises ConcurrencyConflict.

    ``add`` raises AlreadyExists when an order for the same checkout exists.
    """

    async def get(self, order_id: str) -> Order | None: ...
    async def lock(self, order_id: str) -> Order | None: ...
    async def get_by_checkout(self, checkout_id: str) -> Order | None: ...
    async def add(self, order: Order) -> None: ...
    async def save(self, order: Order) -> None: ...


class PaymentRepository(Protocol):
    """Payment intents. At most one non-terminal intent per order: ``add`` raises AlreadyExists
    when another is active, or when the reference is taken."""

    async def get(self, payment_id: str) -> PaymentIntent | None: ...
    async def lock(self, payment_id: str) -> PaymentIntent | None: ...
    async def get_by_reference(self, reference: str) -> PaymentIntent | None: ...
    async def lock_by_reference(self, reference: str) -> PaymentIntent | None: ...
    async def active_for_order(self, order_id: str) -> PaymentIntent | None: ...
    async def add(self, payment: PaymentIntent) -> None: ...
    async def save(self, payment: PaymentIntent) -> None: ...


class RefundRepository(Protocol):
    """Refunds; ``for_payment`` is read under the payment's row lock when deciding amounts."""

    async def get(self, refund_id: str) -> Refund | None: ...
    async def lock(self, refund_id: str) -> Refund | None: ...
    async def for_payment(self, payment_id: str) -> list[Refund]: ...
    async def add(self, refund: Refund) -> None: ...
    async def save(self, refund: Refund) -> None: ...


class Ledger(Protocol):
    """Append-only ledger of money movements."""

    async def append(self, transaction: Transaction) -> None: ...
    async def for_payment(self, payment_id: str) -> list[Transaction]: ...


class WebhookInbox(Protocol):
    """Received webhooks. ``add`` returns False (and stores nothing) for a known (gateway, event_id)."""

    async def add(self, event: WebhookEvent) -> bool: ...
    async def get(self, webhook_id: str) -> WebhookEvent | None: ...
    async def lock(self, webhook_id: str) -> WebhookEvent | None: ...
    async def save(self, event: WebhookEvent) -> None: ...
    async def pending(self, limit: int) -> list[WebhookEvent]: ...


class NotificationRepository(Protocol):
    """Notifications. ``add`` returns False when one for the same ``event_key`` exists (dedup)."""

    async def add(self, notification: Notification) -> bool: ...
    async def add_at_commit(self, notification: Notification) -> None:
        """Insert with the commit (in its round trip where the adapter can); one for the same user and
        event key already there is kept and this one dropped, without an error."""
        ...
    async def get(self, notification_id: str) -> Notification | None: ...
    async def save(self, notification: Notification) -> None: ...


class UnitOfWork(Protocol):
    """One transaction. ``async with uow:`` rolls back unless ``commit()`` was awaited inside.

    After a commit, the domain events recorded on the aggregates it loaded or added are published
    (through the outbox where the adapter has one). Never shared between requests.
    """

    users: UserRepository
    products: ProductRepository
    coupons: CouponRepository
    orders: OrderRepository
    payments: PaymentRepository
    refunds: RefundRepository
    ledger: Ledger
    webhooks: WebhookInbox
    notifications: NotificationRepository
    carts: CartRepository
    addresses: AddressRepository
    redemptions: CouponRedemptionRepository

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` once this unit of work has committed and released its connection (never
        if it rolls back); a failing action is logged, never raised."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]

#: Called inside ``commit()`` with the events the unit of work is committing, before it commits:
#: what the handler writes through the unit of work commits or rolls back with the change.
TransactionHandler = Callable[[UnitOfWork, list[DomainEvent]], Awaitable[None]]


class TransactionSubscribers(Protocol):
    """Where handlers subscribe to the events of every unit of work, in its transaction (the
    in-transaction counterpart of ``EventBus.subscribe``, which delivers after commit)."""

    def subscribe(self, handler: TransactionHandler) -> None: ...


@attrs.frozen
class Page:
    """One page of a list; ``next_cursor`` is opaque to clients (None on the last page)."""

    results: list[Any]
    next_cursor: str | None


class ReadModel(Protocol):
    """Queries for lists and reports (newest first, keyset pagination by (created_at, id)).

    ``owner_id`` None means all owners (admins). ``cursor`` is what a previous page returned.
    """

    async def list_orders(self, *, owner_id: str | None, status: str | None, workspace_id: str | None,
                          search: str | None, limit: int, cursor: str | None) -> Page: ...
    async def list_payments(self, *, owner_id: str | None, status: str | None, order_id: str | None,
                            limit: int, cursor: str | None) -> Page: ...
    async def list_refunds(self, *, owner_id: str | None, payment_id: str | None, limit: int,
                           cursor: str | None) -> Page: ...
    async def list_notifications(self, *, user_id: str, unread_only: bool, limit: int,
                                 cursor: str | None) -> Page: ...
    async def list_products(self, *, category: str | None, search: str | None, include_inactive: bool,
                            limit: int, cursor: str | None) -> Page: ...
    async def list_categories(self) -> list[Category]: ...
