"""Memory repository of the checkout context: coupon redemptions (sessions live in the session store)."""
from __future__ import annotations

from collections.abc import Callable

from adapters.memory.session import MemorySession
from application.errors import AlreadyExists
from domain.catalog import CouponRedemption


class MemoryRedemptions:
    table = "coupon_redemptions"

    def __init__(self, session: MemorySession) -> None:
        self.session = session

    async def count_for_user(self, code: str, user_id: str) -> int:
        code = code.upper()
        return len(self.session.keys_where(self.table, lambda r: r.coupon_code == code and r.user_id == user_id))

    async def add(self, redemption: CouponRedemption) -> None:
        key = f"{redemption.coupon_code.upper()}|{redemption.order_id}"
        if self.session.read(self.table, key) is not None:
            raise AlreadyExists("this order already used the coupon", order_id=redemption.order_id)
        stored = CouponRedemption(redemption.coupon_code.upper(), redemption.order_id, redemption.user_id,
                                  redemption.redeemed_at)
        self.session.write(self.table, key, stored, new=True)


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {"redemptions": MemoryRedemptions}
