"""Postgres repository of the cart context (migration 0003); keeps the memory adapter's contract."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

import orjson

from adapters.postgres.repo_base import delete_owned
from adapters.postgres.session import PostgresSession
from application.errors import ConcurrencyConflict
from domain.cart import Cart, CartLine


class PostgresCarts:
    """Carts as one row each (lines as a JSON array); ``save`` is optimistic on ``version``."""

    def __init__(self, session: PostgresSession) -> None:
        self.session = session
        self._loaded: dict[str, int] = {}

    async def get(self, owner_id: str) -> Cart | None:
        rows = await self.session.fetch("SELECT owner_id, currency, lines, updated_at, version FROM carts "
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
            written = await self.session.execute(
                "INSERT INTO carts (owner_id, currency, lines, updated_at, version) VALUES "
                "(%(owner_id)s, %(currency)s, %(lines)s::jsonb, %(updated_at)s, %(version)s) "
                "ON CONFLICT DO NOTHING", params)
        else:
            written = await self.session.execute(
                "UPDATE carts SET currency = %(currency)s, lines = %(lines)s::jsonb, updated_at = %(updated_at)s, "
                "version = %(version)s WHERE owner_id = %(owner_id)s AND version = %(loaded)s", params)
        if not written:
            raise ConcurrencyConflict(f"the cart of {cart.owner_id} was changed by another request")
        self._loaded[cart.owner_id] = cart.version

    async def delete(self, owner_id: str, version: int | None = None) -> None:
        await delete_owned(self.session, "carts", owner_id, version, "cart")
        self._loaded.pop(owner_id, None)


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"carts": PostgresCarts}
#: This context's tables, in foreign-key order.
TABLES = ("carts",)
