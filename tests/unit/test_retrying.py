"""Repeating a unit of work that lost an optimistic race (cart, wishlist)."""
from __future__ import annotations

import pytest

from application.errors import ConcurrencyConflict, NotFound
from application.retrying import on_conflict


async def test_a_lost_race_is_run_again_until_it_wins_or_the_attempts_run_out():
    calls = []

    async def loses_twice() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConcurrencyConflict("changed meanwhile")
        return "done"

    assert await on_conflict(3, loses_twice) == "done" and len(calls) == 3
    calls.clear()
    with pytest.raises(ConcurrencyConflict):
        await on_conflict(2, loses_twice)
    assert len(calls) == 2


async def test_any_other_failure_is_not_repeated():
    calls = []

    async def missing() -> None:
        calls.append(1)
        raise NotFound("no such thing")

    with pytest.raises(NotFound):
        await on_conflict(3, missing)
    assert calls == [1]
