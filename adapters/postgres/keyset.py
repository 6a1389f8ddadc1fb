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


class PagedRepository(Repository):
    """A repository whose rows (with ``created_at`` and ``id``) are listed newest first."""

    async def _newest_first(self, where: Sequence[str], params: Sequence[Any], limit: int,
                            cursor: str | None) -> Page:
        where, params = list(where), list(params)
        if cursor:
            sort_key, item_id = decode_cursor(cursor)
            try:
                after = datetime.fromisoformat(sort_key)
            except ValueError:
                raise InvalidValue("cursor is not one this API returned", field="cursor") from None
            where.append("(t.created_at, t.id) < (%s, %s)")
            params += [after, item_id]
        rows = await self._select(" AND ".join(where) or "true", params, order="t.created_at DESC, t.id DESC",
                                  limit=limit + 1)
        items = rows[:limit]
        more = len(rows) > limit and items
        return Page(items, encode_cursor(items[-1].created_at.isoformat(), items[-1].id) if more else None)
