"""Postgres read model: the list queries, with the memory read model's filters, order and cursors.

Newest first by (created_at, id) with keyset cursors ``encode_cursor(created_at.isoformat(), id)``;
products by sku ascending (skus are unique, so the sku alone is the keyset). Each query is served
by an index (see the migration and ``adapters/postgres/explain.py``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import aiopg

from adapters.postgres import db
from adapters.postgres.catalog import CATEGORIES, PRODUCTS
from adapters.postgres.mapping import Table
from adapters.postgres.notifications import NOTIFICATIONS
from adapters.postgres.orders import ORDERS
from adapters.postgres.payments import PAYMENTS, REFUNDS
from application.pagination import decode_cursor, encode_cursor
from application.ports import Page
from domain.catalog import Category
from domain.errors import InvalidValue


class PostgresReadModel:
    """``ReadModel`` over committed rows (point it at a read replica's pool to offload lists)."""

    def __init__(self, pool: aiopg.Pool) -> None:
        self.pool = pool

    async def _fetch(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        return await db.fetch(self.pool, sql, params)

    async def _page(self, table: Table, where: list[str], params: list[Any], limit: int,
                    cursor: str | None, *, by_sku: bool = False) -> Page:
        where, params = list(where), list(params)
        if cursor:
            sort_key, item_id = decode_cursor(cursor)
            if by_sku:
                where.append("t.sku > %s")
                params.append(sort_key)
            else:
                where.append("(t.created_at, t.id) < (%s, %s)")
                params += [_timestamp(sort_key), item_id]
        order = "t.sku" if by_sku else "t.created_at DESC, t.id DESC"
        sql = table.select()
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {order} LIMIT %s"
        rows = await self._fetch(sql, [*params, limit + 1])
        items = [table.from_row(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit and items:
            last = items[-1]
            next_cursor = encode_cursor(last.sku if by_sku else last.created_at.isoformat(), last.id)
        return Page(items, next_cursor)

    async def list_orders(self, *, owner_id, status, workspace_id, search, limit, cursor) -> Page:
        where, params = _filters(owner_id=owner_id, status=status, workspace_id=workspace_id)
        if search:
            where.append("strpos(upper(t.order_number), upper(%s)) > 0")
            params.append(search)
        return await self._page(ORDERS, where, params, limit, cursor)

    async def list_payments(self, *, owner_id, status, order_id, limit, cursor) -> Page:
        where, params = _filters(owner_id=owner_id, status=status, order_id=order_id)
        return await self._page(PAYMENTS, where, params, limit, cursor)

    async def list_refunds(self, *, owner_id, payment_id, limit, cursor) -> Page:
        where, params = _filters(owner_id=owner_id, payment_id=payment_id)
        return await self._page(REFUNDS, where, params, limit, cursor)

    async def list_notifications(self, *, user_id, unread_only, limit, cursor) -> Page:
        where, params = _filters(user_id=user_id)
        if unread_only:
            where.append("NOT t.read")
        return await self._page(NOTIFICATIONS, where, params, limit, cursor)

    async def list_products(self, *, category, search, include_inactive, limit, cursor, tag=None) -> Page:
        where, params = _filters(category=category)
        if not include_inactive:
            where.append("t.active")
        if tag is not None:
            where.append("t.tags @> ARRAY[%s]::text[]")
            params.append(tag)
        if search:
            where.append("(strpos(lower(t.name), lower(%s)) > 0 OR strpos(lower(t.sku), lower(%s)) > 0)")
            params += [search, search]
        return await self._page(PRODUCTS, where, params, limit, cursor, by_sku=True)

    async def list_categories(self) -> list[Category]:
        rows = await self._fetch(f"{CATEGORIES.select()} ORDER BY t.slug", [])
        return [CATEGORIES.from_row(row) for row in rows]


def _filters(**equal: Any) -> tuple[list[str], list[Any]]:
    """``column = %s`` for every filter given (None means no filter)."""
    given = {column: value for column, value in equal.items() if value is not None}
    return [f"t.{column} = %s" for column in given], list(given.values())


def _timestamp(sort_key: str) -> datetime:
    try:
        return datetime.fromisoformat(sort_key)
    except ValueError:
        raise InvalidValue("cursor is not one this API returned", field="cursor") from None
