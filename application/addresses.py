"""Use cases: a user's saved delivery addresses (list, save, delete, use one at checkout)."""
from __future__ import annotations

from collections.abc import Callable

from application.errors import NotFound
from application.pagination import decode_cursor, encode_cursor
from application.ports import Clock, IdGenerator, Page
from application.ports.delivery import DeliveryUnitOfWork
from domain.delivery import SavedAddress
from domain.errors import InvalidValue
from domain.places import Address
from domain.users import Principal


def _page(rows: list[SavedAddress], limit: int, cursor: str | None) -> Page:
    """Newest first by (created_at, id), keyset cursor (a user has at most a few dozen addresses)."""
    if cursor:
        after = decode_cursor(cursor)
        rows = [a for a in rows if (a.created_at.isoformat(), a.id) < after]
    chunk = rows[:limit]
    more = len(rows) > limit
    return Page(chunk, encode_cursor(chunk[-1].created_at.isoformat(), chunk[-1].id) if more and chunk else None)


class Addresses:
    def __init__(self, uow: Callable[[], DeliveryUnitOfWork], ids: IdGenerator, clock: Clock) -> None:
        self.uow, self.ids, self.clock = uow, ids, clock

    async def list(self, principal: Principal, limit: int, cursor: str | None) -> Page:
        async with self.uow() as uow:
            rows = await uow.addresses.for_owner(principal.id)
        return _page(rows, limit, cursor)

    async def add(self, principal: Principal, address: Address, label: str | None = None) -> SavedAddress:
        if principal.is_guest:
            raise InvalidValue("guests cannot save addresses; send the address with the checkout", field="address")
        async with self.uow() as uow:
            existing = await uow.addresses.for_owner(principal.id)
            saved = SavedAddress.create(self.ids.new_id("adr"), principal.id, address, label, self.clock.now(),
                                        already_saved=len(existing))
            await uow.addresses.add(saved)
            await uow.commit()
        return saved

    async def get(self, principal: Principal, address_id: str) -> SavedAddress:
        async with self.uow() as uow:
            saved = await uow.addresses.get(address_id)
        if saved is None or saved.owner_id != principal.id:  # another user's address is not yours to ship to
            raise NotFound("no such saved address", address_id=address_id)
        return saved

    async def delete(self, principal: Principal, address_id: str) -> None:
        async with self.uow() as uow:
            saved = await uow.addresses.get(address_id)
            if saved is None or saved.owner_id != principal.id:
                raise NotFound("no such saved address", address_id=address_id)
            await uow.addresses.delete(address_id)
            await uow.commit()
