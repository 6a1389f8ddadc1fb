"""Rows <-> domain objects. Columns are named after the attrs fields; enums are stored as ``.value``,
money as BIGINT minor units, timestamps as timestamptz (read back as UTC)."""
from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from domain.catalog import Category, Coupon, CouponKind, Product
from domain.checkout import LineItem
from domain.money import Money
from domain.notifications import Notification
from domain.orders import Order
from domain.payments import PaymentIntent, Refund, Transaction
from domain.states import OrderStatus, PaymentStatus, RefundStatus, TransactionStatus, TransactionType, WebhookStatus
from domain.users import Role, User
from domain.webhooks import WebhookEvent

Row = Mapping[str, Any]


def _value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _utc(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


@attrs.frozen
class Table:
    """How one aggregate is stored: its table, key column, columns, and the conversions."""

    name: str
    cls: type
    key: str
    columns: tuple[str, ...]
    #: Column -> callable that turns the stored value back into the attribute's value.
    decoders: Mapping[str, Callable[[Any], Any]] = attrs.field(factory=dict)
    #: Extra SQL expressions selected after the columns (name -> expression).
    extras: Mapping[str, str] = attrs.field(factory=dict)
    versioned: bool = False
    key_expr: str | None = None  # SQL matched against a key parameter (default: the key column)

    @property
    def where_key(self) -> str:
        return f"{self.key_expr or self.key} = %s"

    def select(self, alias: str = "t") -> str:
        cols = [f"{alias}.{c}" for c in self.columns]
        cols += [f"({expr}) AS {name}" for name, expr in self.extras.items()]
        return f"SELECT {', '.join(cols)} FROM {self.name} {alias}"

    def to_row(self, obj: Any) -> dict[str, Any]:
        if isinstance(obj, Product):
            row = {c: getattr(obj, c) for c in self.columns if c not in ("price", "currency")}
            return {**row, "price": obj.price.amount, "currency": obj.price.currency}
        return {c: _value(getattr(obj, c)) for c in self.columns}

    def from_row(self, row: Row) -> Any:
        values = {}
        for column in (*self.columns, *self.extras):
            decode = self.decoders.get(column)
            values[column] = decode(row[column]) if decode else _utc(row[column])
        if self.cls is Product:
            values["price"] = Money(values["price"], values.pop("currency"))
        return self.cls(**values)

    def insert_sql(self) -> str:
        cols = ", ".join(self.columns)
        marks = ", ".join(f"%({c})s" for c in self.columns)
        return f"INSERT INTO {self.name} ({cols}) VALUES ({marks})"

    def update_sql(self, check_version: bool) -> str:
        sets = ", ".join(f"{c} = %({c})s" for c in self.columns if c != self.key)
        where = f"{self.key_expr or self.key} = %(__key)s"
        if check_version:
            where += " AND version = %(__loaded_version)s"
        return f"UPDATE {self.name} SET {sets} WHERE {where}"


def _fields(cls: type, *, skip: Sequence[str] = ()) -> tuple[str, ...]:
    return tuple(f.name for f in attrs.fields(cls) if f.name not in ("events", *skip))


def _items(value: Any) -> list[LineItem]:
    return [LineItem(**item) for item in value or []]


_ITEMS_SQL = ("SELECT coalesce(json_agg(json_build_object('sku', i.sku, 'product_id', i.product_id, "
              "'name', i.name, 'unit_price', i.unit_price, 'quantity', i.quantity) ORDER BY i.position), "
              "'[]'::json) FROM order_items i WHERE i.order_id = t.id")

USERS = Table("users", User, "id", _fields(User), {"role": Role})
CATEGORIES = Table("categories", Category, "slug", _fields(Category))
PRODUCTS = Table("products", Product, "id", (*_fields(Product, skip=("price",)), "price", "currency"),
                 versioned=True)
COUPONS = Table("coupons", Coupon, "code", _fields(Coupon), {"kind": CouponKind}, key_expr="code_key")
ORDERS = Table("orders", Order, "id", _fields(Order, skip=("items",)), {"status": OrderStatus, "items": _items},
               extras={"items": _ITEMS_SQL}, versioned=True)
PAYMENTS = Table("payment_intents", PaymentIntent, "id", _fields(PaymentIntent), {"status": PaymentStatus},
                 versioned=True)
REFUNDS = Table("refunds", Refund, "id", _fields(Refund), {"status": RefundStatus}, versioned=True)
TRANSACTIONS = Table("transactions", Transaction, "id", _fields(Transaction),
                     {"type": TransactionType, "status": TransactionStatus})
WEBHOOKS = Table("webhook_events", WebhookEvent, "id", _fields(WebhookEvent), {"status": WebhookStatus},
                 versioned=True)
NOTIFICATIONS = Table("notifications", Notification, "id", _fields(Notification))

#: Every table the adapters write, in an order that respects the foreign keys (for TRUNCATE).
ALL_TABLES = ("users", "categories", "products", "coupons", "orders", "order_items", "payment_intents",
              "refunds", "transactions", "webhook_events", "notifications", "idempotency_keys", "outbox",
              "carts", "addresses", "coupon_redemptions", "deliveries", "delivery_attempts")


def order_item_rows(order: Order) -> list[dict[str, Any]]:
    return [{"order_id": order.id, "position": n, **attrs.asdict(item)} for n, item in enumerate(order.items)]
