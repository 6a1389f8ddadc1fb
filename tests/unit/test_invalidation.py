"""Kinds of change are registered by the module that owns what they name (issue 12: the signature of
``invalidation.changed`` is no central list a new context edits): the keys each kind makes stale,
a context's own kind used without touching ``application/invalidation.py``, and the refusals."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

import application.catalog
import application.reviews
import application.support.faq
from application import cache_keys as keys
from application import invalidation

ORDER = SimpleNamespace(id="o1", owner_id="u1")
PAYMENT = SimpleNamespace(id="p1", owner_id="u1")
REFUND = SimpleNamespace(id="r1", owner_id="u2")


class RecordingCache:
    """What ``changed`` and ``stage`` hand to the cache-aside."""

    def __init__(self) -> None:
        self.invalidated: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        self.staged: list[tuple[object, list[str], list[str]]] = []

    async def invalidate(self, *stale: str, groups: tuple[str, ...] = ()) -> None:
        self.invalidated.append((stale, groups))

    async def stage(self, uow: object, stale: list[str], groups: list[str]) -> None:
        self.staged.append((uow, stale, groups))


@pytest.fixture
def scratch_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invalidation, "_KINDS", dict(invalidation._KINDS))


def test_each_kind_makes_stale_what_it_did() -> None:
    assert invalidation.stale_keys(orders=(ORDER,), payments=(PAYMENT,), refunds=(REFUND,),
                                   product_ids=["prd1", "prd2"], categories=True) == (
        [keys.order("o1"), keys.payment("p1"), keys.refund("r1"), keys.product("prd1"), keys.product("prd2"),
         keys.CATEGORIES],
        [keys.orders("u1"), keys.orders(keys.ADMIN), keys.payments("u1"), keys.payments(keys.ADMIN),
         keys.refunds("u2"), keys.refunds(keys.ADMIN), keys.PRODUCTS])
    assert invalidation.stale_keys(tags=True, product_ids=["prd1"]) == (
        [keys.product("prd1"), keys.TAGS], [keys.PRODUCTS])
    assert invalidation.stale_keys(reviewed=["prd1"]) == (
        [keys.product("prd1")], [keys.PRODUCTS, keys.product_reviews("prd1")])
    assert invalidation.stale_keys(faq=True) == ([keys.FAQ], [])
    assert invalidation.stale_keys(categories=False, tags=False, faq=False, product_ids=[]) == ([], [])


def test_the_storefront_kinds_are_registered_beside_their_use_cases() -> None:
    owners = {name: stale_of.__module__ for name, stale_of in invalidation.registered().items()}
    assert owners == {
        "orders": "application.invalidation", "payments": "application.invalidation",
        "refunds": "application.invalidation", "product_ids": "application.invalidation",
        "categories": "application.invalidation",
        "tags": application.catalog.__name__, "reviewed": application.reviews.__name__,
        "faq": application.support.faq.__name__,
    }


async def test_a_new_contexts_kind_needs_no_edit_of_the_invalidation_module(scratch_kinds: None) -> None:
    @invalidation.kind("greetings")
    def _greetings(names: list[str]) -> invalidation.Stale:
        return [f"{{greeting:{n}}}" for n in names], ["{greetings}"]

    cache = RecordingCache()
    await invalidation.changed(cache, greetings=["ada"], orders=(ORDER,))  # type: ignore[arg-type]
    assert cache.invalidated == [((keys.order("o1"), "{greeting:ada}"),
                                  (keys.orders("u1"), keys.orders(keys.ADMIN), "{greetings}"))]
    uow = object()
    await invalidation.stage(uow, cache, greetings=["bob"])  # type: ignore[arg-type]
    assert cache.staged == [(uow, ["{greeting:bob}"], ["{greetings}"])]


def test_an_unknown_kind_is_refused_naming_it() -> None:
    with pytest.raises(TypeError, match="'wishes'"):
        invalidation.stale_keys(wishes=True)


def test_a_kind_is_registered_once(scratch_kinds: None) -> None:
    with pytest.raises(ValueError, match="'faq'"):
        invalidation.kind("faq")(lambda changed: ([], []))
