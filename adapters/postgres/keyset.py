"""Newest-first keyset pages read inside a unit of work (a context's own lists: reviews, tickets),
with the read model's cursors: ``encode_cursor(created_at.isoformat(), id)``."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.postgres.repo_base import Repository
from application.pagination import decode_cursor, encode_cursor
from application.ports import Page
from domain.errors import InvalidValue


def after(cursor: str | None) -> tuple[list[str], list[Any]]:
    """The condition (and its parameters) of the rows after ``cursor``, newest first (none without one)."""
    if not cursor:
        return [], []
    sort_key, item_id = decode_cursor(cursor)
    try:
        created = datetime.fromisoformat(sort_key)
    except ValueError:
        raise InvalidValue("cursor is not one this API returned", field="cursor") from None
    return ["(t.created_at, t.id) < (%s, %s)"], [created, item_id]


def page_of(rows: Sequence[Any], limit: int) -> Page:
    """The page of ``rows`` (``limit + 1`` fetched: one more means another page)."""
    items = list(rows[:limit])
    more = len(rows) > limit and items
    return Page(items, encode_cursor(items[-1].created_at.isoformat(), items[-1].id) if more else None)


class PagedRepository(Repository):
    """A repository whose rows (with ``created_at`` and ``id``) are listed newest first."""

    async def _newest_first(self, where: Sequence[str], params: Sequence[Any], limit: int,
                            cursor: str | None) -> Page:
        more_where, more_params = after(cursor)
        where, params = [*where, *more_where], [*params, *more_params]
        rows = await self._select(" AND ".join(where) or "true", params, order="t.created_at DESC, t.id DESC",
                                  limit=limit + 1)
        return page_of(rows, limit)
