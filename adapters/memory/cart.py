"""Memory repository of the cart context: one cart per owner."""
from __future__ import annotations

from collections.abc import Callable

from adapters.memory.session import MemorySession
from adapters.memory.table import DeletableTable
from application.errors import ConcurrencyConflict
from domain.cart import Cart


class MemoryCarts(DeletableTable):
    table = "carts"

    def _key(self, obj: Cart) -> str:
        return obj.owner_id

    async def save(self, cart: Cart) -> None:
        """The unit of work holds the store lock, so no other request can have created it meanwhile."""
        self.session.write(self.table, cart.owner_id, cart, new=False)

    async def delete(self, owner_id: str, version: int | None = None) -> None:
        stored = self.session.store.tables[self.table].get(owner_id)  # as committed
        if version is not None and (stored is None or stored.version != version):
            raise ConcurrencyConflict(f"the cart of {owner_id} was changed by another request")
        await super().delete(owner_id)


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {"carts": MemoryCarts}
