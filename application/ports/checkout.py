"""Persistence ports of the checkout context: coupon redemptions (sessions are in the
``CheckoutSessionStore``), and the unit of work a checkout confirms in."""
from __future__ import annotations

from typing import Protocol

from application.ports.cart import CartUnitOfWork
from application.ports.catalog import CatalogUnitOfWork
from application.ports.delivery import DeliveryUnitOfWork
from application.ports.orders import OrderRepository
from domain.catalog import CouponRedemption


class CouponRedemptionRepository(Protocol):
    """Uses of coupons by orders. Read and added under the coupon's row lock, so per-user counts are
    atomic; ``add`` raises AlreadyExists for a second use by the same order."""

    async def count_for_user(self, code: str, user_id: str) -> int: ...
    async def add(self, redemption: CouponRedemption) -> None: ...


class CheckoutUnitOfWork(CatalogUnitOfWork, CartUnitOfWork, DeliveryUnitOfWork, Protocol):
    """What starting and confirming a checkout use: products, coupons, the cart, the saved
    address, the order it places and the coupon's redemption."""

    orders: OrderRepository
    redemptions: CouponRedemptionRepository
