"""Postgres repository of the checkout context: coupon redemptions (migration 0003; checkout
sessions live in the session store)."""
from __future__ import annotations

from collections.abc import Callable

from adapters.postgres.session import PostgresSession
from application.errors import AlreadyExists
from domain.catalog import CouponRedemption


class PostgresRedemptions:
    """Coupon uses; the caller holds the coupon's row lock (``coupons.lock``) while counting and adding."""

    def __init__(self, session: PostgresSession) -> None:
        self.session = session

    async def count_for_user(self, code: str, user_id: str) -> int:
        rows = await self.session.fetch("SELECT count(*) AS n FROM coupon_redemptions "
                                        "WHERE coupon_code = upper(%s) AND user_id = %s", [code, user_id])
        return int(rows[0]["n"])

    async def add(self, redemption: CouponRedemption) -> None:
        added = await self.session.execute(
            "INSERT INTO coupon_redemptions (coupon_code, order_id, user_id, redeemed_at) "
            "VALUES (upper(%s), %s, %s, %s) ON CONFLICT DO NOTHING",
            [redemption.coupon_code, redemption.order_id, redemption.user_id, redemption.redeemed_at])
        if not added:
            raise AlreadyExists("this order already used the coupon", order_id=redemption.order_id)


REPOSITORIES: dict[str, Callable[[PostgresSession], object]] = {"redemptions": PostgresRedemptions}
#: This context's tables, in foreign-key order (after orders and catalog, which they refer to).
TABLES = ("coupon_redemptions",)
