"""Memory repository of the wishlist context: one list per owner."""
from __future__ import annotations

from collections.abc import Callable

from adapters.memory.session import MemorySession
from adapters.memory.table import DeletableTable
from application.errors import ConcurrencyConflict
from domain.wishlist import Wishlist


class MemoryWishlists(DeletableTable):
    table = "wishlists"

    def _key(self, obj: Wishlist) -> str:
        return obj.owner_id

    async def save(self, wishlist: Wishlist) -> None:
        """The unit of work holds the store lock, so no other request can have created it meanwhile."""
        self.session.write(self.table, wishlist.owner_id, wishlist, new=False)

    async def delete(self, owner_id: str, version: int | None = None) -> None:
        stored = self.session.store.tables[self.table].get(owner_id)  # as committed
        if version is not None and (stored is None or stored.version != version):
            raise ConcurrencyConflict(f"the wishlist of {owner_id} was changed by another request")
        await super().delete(owner_id)


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {"wishlists": MemoryWishlists}
