"""Postgres repositories for carts, saved addresses and coupon redemptions (migration 0003).

They keep the memory adapters' contract (``adapters/memory/delivery_repositories.py``).
"""
from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

import orjson

from adapters.postgres.mapping import Table
from adapters.postgres.repo_base import Repository
from application.errors import AlreadyExists, ConcurrencyConflict
from domain.cart import Cart, CartLine
from domain.catalog import CouponRedemption
from domain.delivery import SavedAddress

if TYPE_CHECKING:
    from adapters.postgres.uow import PostgresUnitOfWork

ADDRESSES = Table("addresses", SavedAddress, "id",
                  ("id", "owner_id", "country", "city", "line1", "created_at", "postal_code", "label"))


class PostgresCarts:
    """Carts as one row each (lines as a JSON array); ``save`` is optimistic on ``version``."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self.uow = uow
        self._loaded: dict[str, int] = {}

    async def get(self, owner_id: str) -> Cart | None:
        rows = await self.uow.fetch("SELECT owner_id, currency, lines, updated_at, version FROM carts "
                                    "WHERE owner_id = %s", [owner_id])
        if not rows:
            return None
        row = rows[0]
        self._loaded[owner_id] = row["version"]
        return Cart(owner_id=row["owner_id"], currency=row["currency"], updated_at=row["updated_at"].astimezone(UTC),
                    lines=[CartLine(line["sku"], line["quantity"]) for line in row["lines"]], version=row["version"])

    async def save(self, cart: Cart) -> None:
        params: dict[str, Any] = {
            "owner_id": cart.owner_id, "currency": cart.currency, "updated_at": cart.updated_at,
            "version": cart.version, "loaded": self._loaded.get(cart.owner_id),
            "lines": orjson.dumps([{"sku": line.sku, "quantity": line.quantity} for line in cart.lines]).decode(),
        }
        if params["loaded"] is None:
            written = await self.uow.execute(
                "INSERT INTO carts (owner_id, currency, lines, updated_at, version) VALUES "
                "(%(owner_id)s, %(currency)s, %(lines)s::jsonb, %(updated_at)s, %(version)s) "
                "ON CONFLICT DO NOTHING", params)
        else:
            written = await self.uow.execute(
                "UPDATE carts SET currency = %(currency)s, lines = %(lines)s::jsonb, updated_at = %(updated_at)s, "
                "version = %(version)s WHERE owner_id = %(owner_id)s AND version = %(loaded)s", params)
        if not written:
            raise ConcurrencyConflict(f"the cart of {cart.owner_id} was changed by another request")
        self._loaded[cart.owner_id] = cart.version

    async def delete(self, owner_id: str) -> None:
        await self.uow.execute("DELETE FROM carts WHERE owner_id = %s", [owner_id])
        self._loaded.pop(owner_id, None)


class PostgresAddresses(Repository):
    """Saved addresses of a user."""

    table = ADDRESSES

    async def for_owner(self, owner_id: str) -> list[SavedAddress]:
        return await self._select("t.owner_id = %s", [owner_id], order="t.created_at DESC, t.id DESC")

    async def add(self, address: SavedAddress) -> None:
        if not await self._insert(address):
            raise AlreadyExists(f"addresses {address.id} exists")

    async def delete(self, address_id: str) -> None:
        await self.uow.execute("DELETE FROM addresses WHERE id = %s", [address_id])


class PostgresRedemptions:
    """Coupon uses; the caller holds the coupon's row lock (``coupons.lock``) while counting and adding."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self.uow = uow

    async def count_for_user(self, code: str, user_id: str) -> int:
        rows = await self.uow.fetch("SELECT count(*) AS n FROM coupon_redemptions "
                                    "WHERE coupon_code = upper(%s) AND user_id = %s", [code, user_id])
        return int(rows[0]["n"])

    async def add(self, redemption: CouponRedemption) -> None:
        added = await self.uow.execute(
            "INSERT INTO coupon_redemptions (coupon_code, order_id, user_id, redeemed_at) "
            "VALUES (upper(%s), %s, %s, %s) ON CONFLICT DO NOTHING",
            [redemption.coupon_code, redemption.order_id, redemption.user_id, redemption.redeemed_at])
        if not added:
            raise AlreadyExists("this order already used the coupon", order_id=redemption.order_id)
