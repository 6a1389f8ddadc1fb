"""Which cache keys a committed change makes stale (called after commit, never before)."""
from __future__ import annotations

from application import cache_keys as keys
from application.caching import CacheAside
from domain.orders import Order
from domain.payments import PaymentIntent, Refund


async def order_changed(cache: CacheAside | None, order: Order) -> None:
    if cache is not None:
        await cache.invalidate(keys.order(order.id), groups=(keys.orders(order.owner_id), keys.orders(keys.ADMIN)))


async def payment_changed(cache: CacheAside | None, payment: PaymentIntent) -> None:
    if cache is not None:
        await cache.invalidate(keys.payment(payment.id),
                               groups=(keys.payments(payment.owner_id), keys.payments(keys.ADMIN)))


async def refund_changed(cache: CacheAside | None, refund: Refund) -> None:
    if cache is not None:
        await cache.invalidate(keys.refund(refund.id),
                               groups=(keys.refunds(refund.owner_id), keys.refunds(keys.ADMIN)))


async def products_changed(cache: CacheAside | None, product_ids: list[str]) -> None:
    if cache is not None:
        await cache.invalidate(*[keys.product(p) for p in product_ids], groups=(keys.PRODUCTS,))


async def categories_changed(cache: CacheAside | None) -> None:
    if cache is not None:
        await cache.invalidate(keys.CATEGORIES)
