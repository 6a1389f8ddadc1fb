"""Which cache keys a change makes stale.

``stage`` is what a use case calls inside its unit of work, before the commit: the invalidation
runs once the change is committed (never if it rolls back), and where the cache can lose it
(Redis) it is written to the journal with the commit and replayed if it is lost (a Redis blip, a
crash between the commit and the cache). ``changed`` invalidates at once (for callers with no
unit of work). Both take everything one use case changed and invalidate it in one cache call.
"""
from __future__ import annotations

from collections.abc import Iterable

from application import cache_keys as keys
from application.caching import CacheAside
from application.ports.caching import CachingUnitOfWork
from domain.orders import Order
from domain.payments import PaymentIntent, Refund


def stale_keys(*, orders: Iterable[Order] = (), payments: Iterable[PaymentIntent] = (),
               refunds: Iterable[Refund] = (), product_ids: Iterable[str] = (),
               categories: bool = False, tags: bool = False, reviewed: Iterable[str] = (),
               faq: bool = False) -> tuple[list[str], list[str]]:
    """(keys, groups) the change makes stale."""
    stale: dict[str, None] = {}  # ordered sets
    groups: dict[str, None] = {}
    for order in orders:
        stale[keys.order(order.id)] = None
        groups.update(dict.fromkeys((keys.orders(order.owner_id), keys.orders(keys.ADMIN))))
    for payment in payments:
        stale[keys.payment(payment.id)] = None
        groups.update(dict.fromkeys((keys.payments(payment.owner_id), keys.payments(keys.ADMIN))))
    for refund in refunds:
        stale[keys.refund(refund.id)] = None
        groups.update(dict.fromkeys((keys.refunds(refund.owner_id), keys.refunds(keys.ADMIN))))
    for product_id in product_ids:
        stale[keys.product(product_id)] = None
        groups[keys.PRODUCTS] = None
    for product_id in reviewed:  # the product shows its rating; its review pages are a group
        stale[keys.product(product_id)] = None
        groups.update(dict.fromkeys((keys.PRODUCTS, keys.product_reviews(product_id))))
    if categories:
        stale[keys.CATEGORIES] = None
    if tags:
        stale[keys.TAGS] = None
    if faq:
        stale[keys.FAQ] = None
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
