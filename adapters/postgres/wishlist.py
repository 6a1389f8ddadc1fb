"""Postgres repository of the wishlist context (migration 0005); keeps the memory adapter's contract."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from adapters.postgres.repo_base import delete_owned
from adapters.postgres.session import PostgresSession
from application.errors import ConcurrencyConflict
from domain.wishlist import Wishlist, WishlistItem


class PostgresWishlists:
    """Wishlists as one row each (items as a JSON array); ``save`` is optimistic on ``version``."""

    def __init__(self, session: PostgresSession) -> None:
        self.session = session
        self._loaded: dict[str, int] = {}

    async def get(self, owner_id: str) -> Wishlist | None:
        rows = await self.session.fetch("SELECT owner_id, items, updated_at, version FROM wishlists "
                                        "WHERE owner_id = %s", [owner_id])
        if not rows:
            return None
        row = rows[0]
        self._loaded[owner_id] = row["version"]
        items = [WishlistItem(i["sku"], datetime.fromisoformat(i["added_at"]).astimezone(UTC)) for i in row["items"]]
        return Wishlist(owner_id=row["owner_id"], updated_at=row["updated_at"].astimezone(UTC), items=items,
                        version=row["version"])

    async def save(self, wishlist: Wishlist) -> None:
        params: dict[str, Any] = {
            "owner_id": wishlist.owner_id, "updated_at": wishlist.updated_at, "version": wishlist.version,
            "loaded": self._loaded.get(wishlist.owner_id),
            "items": orjson.dumps([{"sku": i.sku, "added_at": i.added_at.isoformat()} for i in wishlist.items]).decode(),
        }
        if params["loaded"] is None:
            written = await self.session.execute(
                "INSERT INTO wishlists (owner_id, items, updated_at, version) VALUES "
                "(%(owner_id)s, %(items)s::jsonb, %(updated_at)s, %(version)s) ON CONFLICT DO NOTHING", params)
        else:
            written = await self.session.execute(
                "UPDATE wishlists SET items = %(items)s::jsonb, updated_at = %(updated_at)s, version = %(version)s "
                "WHERE owner_id = %(owner_id)s AND version = %(loaded)s", params)
        if not written:
            raise ConcurrencyConflict(f"the wishlist of {wishlist.owner_id} was changed by another request")
        self._loaded[wishlist.owner_id] = wishlist.version

    async def delete(self, owner_id: str, version: int | None = None) -> None:
        await delete_owned(self.session, "wishlists", owner_id, version, "wishlist")
        self._loaded.pop(owner_id, None)


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"wishlists": PostgresWishlists}
#: This context's tables, in foreign-key order.
TABLES = ("wishlists",)
