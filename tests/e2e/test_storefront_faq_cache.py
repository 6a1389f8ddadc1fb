"""The FAQ's cached answer lives 15 minutes (issue 18): a change whose invalidation was lost shows
once the entry expires, not before. Memory only: the fake clock times the memory cache (Redis keeps
its own time)."""
from __future__ import annotations

from application.support.faq import Faq

API = "/api/v1"


async def _questions(api) -> set[str]:
    faq = await api.json("GET", f"{API}/faq", expect=200)
    return {e["question"] for s in faq["sections"] for e in s["entries"]}


async def test_a_cached_faq_expires_after_fifteen_minutes(clock, api, admin, monkeypatch):
    assert "Do you deliver on Sundays?" not in await _questions(api)  # cached from now on

    async def lost(self) -> None:  # the write's invalidation never arrives
        return None
    monkeypatch.setattr(Faq, "_saved", lost)
    await api.json("POST", f"{API}/admin/faq/entries", admin, expect=201,
                   json={"section": "delivery", "question": "Do you deliver on Sundays?", "answer": "No."})
    assert "Do you deliver on Sundays?" not in await _questions(api)
    clock.advance(15 * 60 - 1)
    assert "Do you deliver on Sundays?" not in await _questions(api)
    clock.advance(2)
    assert "Do you deliver on Sundays?" in await _questions(api)
