"""Which cache keys a change makes stale.

``stage`` is what a use case calls inside its unit of work, before the commit: the invalidation
runs once the change is committed (never if it rolls back), and where the cache can lose it
(Redis) it is written to the journal with the commit and replayed if it is lost (a Redis blip, a
crash between the commit and the cache). ``changed`` invalidates at once (for callers with no
unit of work). Both take everything one use case changed and invalidate it in one cache call.

A kind of change (``orders=``, ``faq=``...) is registered with ``@kind(name)`` by the module that
owns what it names: the kinds many contexts share are below, a context's own kinds beside its use
cases (``faq`` in ``application/support/faq.py``), so a new context adds a kind without editing
this module.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from application import cache_keys as keys
from application.caching import CacheAside
from application.ports.caching import CachingUnitOfWork
from domain.orders import Order
from domain.payments import PaymentIntent, Refund

#: What a change of one kind makes stale: (keys, groups), from the value the use case passed.
Stale = tuple[Iterable[str], Iterable[str]]
StaleOf = Callable[[Any], Stale]

_KINDS: dict[str, StaleOf] = {}


def kind(name: str) -> Callable[[StaleOf], StaleOf]:
    """Register ``name=`` as a kind of change (a name registered twice is an error)."""
    def register(stale_of: StaleOf) -> StaleOf:
        if name in _KINDS:
            raise ValueError(f"the kind of change {name!r} is registered twice ({stale_of.__module__})")
        _KINDS[name] = stale_of
        return stale_of
    return register


def registered() -> Mapping[str, StaleOf]:
    """Every kind of change, in the order registered (the order of the keys ``stale_keys`` gives)."""
    return dict(_KINDS)


def _owned(detail: Callable[[str], str], lists: Callable[[str], str]) -> StaleOf:
    """An owned resource's detail, and its owner's and the admins' list groups."""
    def stale_of(items: Iterable[Order | PaymentIntent | Refund]) -> Stale:
        items = list(items)
        return ([detail(i.id) for i in items],
                [group for i in items for group in (lists(i.owner_id), lists(keys.ADMIN))])
    return stale_of


kind("orders")(_owned(keys.order, keys.orders))
kind("payments")(_owned(keys.payment, keys.payments))
kind("refunds")(_owned(keys.refund, keys.refunds))


@kind("product_ids")
def _products(product_ids: Iterable[str]) -> Stale:
    product_ids = list(product_ids)
    return [keys.product(p) for p in product_ids], [keys.PRODUCTS] if product_ids else []


@kind("categories")
def _categories(changed: bool) -> Stale:
    return [keys.CATEGORIES] if changed else [], []


def stale_keys(**changes: Any) -> tuple[list[str], list[str]]:
    """(keys, groups) the change makes stale, each once, in the order the kinds were registered."""
    unknown = sorted(set(changes) - set(_KINDS))
    if unknown:
        raise TypeError(f"no kind of change named {', '.join(map(repr, unknown))} is registered "
                        f"(known: {', '.join(_KINDS)})")
    stale: dict[str, None] = {}  # ordered sets
    groups: dict[str, None] = {}
    for name, stale_of in _KINDS.items():
        if name in changes:
            found, found_groups = stale_of(changes[name])
            stale.update(dict.fromkeys(found))
            groups.update(dict.fromkeys(found_groups))
    return list(stale), list(groups)


async def stage(uow: CachingUnitOfWork, cache: CacheAside | None, **changes) -> None:
    """Invalidate what ``changes`` make stale once ``uow`` commits (durably where it matters)."""
    if cache is not None:
        stale, groups = stale_keys(**changes)
        await cache.stage(uow, stale, groups)


async def changed(cache: CacheAside | None, **changes) -> None:
    """Invalidate what ``changes`` made stale, now (the change is committed)."""
    if cache is not None:
        stale, groups = stale_keys(**changes)
        if stale or groups:
            await cache.invalidate(*stale, groups=tuple(groups))


async def payment_changed(cache: CacheAside | None, payment: PaymentIntent) -> None:
    await changed(cache, payments=(payment,))


async def refund_changed(cache: CacheAside | None, refund: Refund) -> None:
    await changed(cache, refunds=(refund,))


async def products_changed(cache: CacheAside | None, product_ids: list[str]) -> None:
    await changed(cache, product_ids=product_ids)


async def categories_changed(cache: CacheAside | None) -> None:
    await changed(cache, categories=True)
