"""Memory read model: lists over the committed tables, newest first, keyset pagination."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from adapters.memory.store import MemoryStore
from application.pagination import decode_cursor, encode_cursor
from application.ports import Page
from domain.catalog import Category


def _page(rows: Iterable[Any], key: Callable[[Any], str], limit: int, cursor: str | None,
          newest_first: bool = True) -> Page:
    ordered = sorted(rows, key=lambda r: (key(r), r.id), reverse=newest_first)
    if cursor:
        after = decode_cursor(cursor)
        if newest_first:
            ordered = [r for r in ordered if (key(r), r.id) < after]
        else:
            ordered = [r for r in ordered if (key(r), r.id) > after]
    chunk = ordered[: limit + 1]
    more = len(chunk) > limit
    chunk = chunk[:limit]
    next_cursor = encode_cursor(key(chunk[-1]), chunk[-1].id) if more and chunk else None
    return Page(chunk, next_cursor)


def _created(row: Any) -> str:
    return row.created_at.isoformat()


class MemoryReadModel:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def _rows(self, table: str) -> list[Any]:
        return list(self.store.tables[table].values())

    async def list_orders(self, *, owner_id, status, workspace_id, search, limit, cursor) -> Page:
        rows = [o for o in self._rows("orders")
                if (owner_id is None or o.owner_id == owner_id)
                and (status is None or o.status.value == status)
                and (workspace_id is None or o.workspace_id == workspace_id)
                and (not search or search.upper() in o.order_number.upper())]
        return _page(rows, _created, limit, cursor)

    async def list_payments(self, *, owner_id, status, order_id, limit, cursor) -> Page:
        rows = [p for p in self._rows("payments")
                if (owner_id is None or p.owner_id == owner_id)
                and (status is None or p.status.value == status)
                and (order_id is None or p.order_id == order_id)]
        return _page(rows, _created, limit, cursor)

    async def list_refunds(self, *, owner_id, payment_id, limit, cursor) -> Page:
        rows = [r for r in self._rows("refunds")
                if (owner_id is None or r.owner_id == owner_id)
                and (payment_id is None or r.payment_id == payment_id)]
        return _page(rows, _created, limit, cursor)

    async def list_notifications(self, *, user_id, unread_only, limit, cursor) -> Page:
        rows = [n for n in self._rows("notifications")
                if n.user_id == user_id and (not unread_only or not n.read)]
        return _page(rows, _created, limit, cursor)

    async def list_products(self, *, category, search, include_inactive, limit, cursor, tag=None) -> Page:
        needle = (search or "").lower()
        rows = [p for p in self._rows("products")
                if (include_inactive or p.active)
                and (category is None or p.category == category)
                and (tag is None or tag in p.tags)
                and (not needle or needle in p.name.lower() or needle in p.sku.lower())]
        return _page(rows, lambda p: p.sku, limit, cursor, newest_first=False)

    async def list_categories(self) -> list[Category]:
        return sorted(self.store.tables["categories"].values(), key=lambda c: c.slug)
