"""Memory repositories for carts, saved addresses and coupon redemptions (same contract as Postgres)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.memory.repositories import _Table
from application.errors import AlreadyExists
from domain.cart import Cart
from domain.catalog import CouponRedemption
from domain.delivery import SavedAddress

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryUnitOfWork


class _OwnTable(_Table):
    """A table the shared ``MemoryStore`` did not know about when it was made."""

    def __init__(self, uow: MemoryUnitOfWork, table: str) -> None:
        super().__init__(uow, table)
        uow.store.tables.setdefault(table, {})

    async def delete(self, key: str) -> None:
        if self.uow.read(self.table, key) is not None:
            self.uow.write(self.table, key, None, new=True)  # a tombstone: reads see nothing


class MemoryCarts(_OwnTable):
    def _key(self, obj: Cart) -> str:
        return obj.owner_id

    async def save(self, cart: Cart) -> None:
        """The unit of work holds the store lock, so no other request can have created it meanwhile."""
        self.uow.write(self.table, cart.owner_id, cart, new=False)


class MemoryAddresses(_OwnTable):
    async def for_owner(self, owner_id: str) -> list[SavedAddress]:
        rows = self._find_all(lambda a: a.owner_id == owner_id)
        return sorted(rows, key=lambda a: (a.created_at, a.id), reverse=True)

    async def add(self, address: SavedAddress) -> None:
        self._insert(address.id, address)


class MemoryRedemptions(_OwnTable):
    async def count_for_user(self, code: str, user_id: str) -> int:
        code = code.upper()
        return len(self.uow.keys_where(self.table, lambda r: r.coupon_code == code and r.user_id == user_id))

    async def add(self, redemption: CouponRedemption) -> None:
        key = f"{redemption.coupon_code.upper()}|{redemption.order_id}"
        if self.uow.read(self.table, key) is not None:
            raise AlreadyExists("this order already used the coupon", order_id=redemption.order_id)
        stored = CouponRedemption(redemption.coupon_code.upper(), redemption.order_id, redemption.user_id,
                                  redemption.redeemed_at)
        self.uow.write(self.table, key, stored, new=True)
