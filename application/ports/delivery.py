"""Persistence ports of the delivery context: saved addresses."""
from __future__ import annotations

from typing import Protocol

from application.ports.repositories import UnitOfWork
from domain.delivery import SavedAddress


class AddressRepository(Protocol):
    """Saved addresses; ``for_owner`` newest first."""

    async def get(self, address_id: str) -> SavedAddress | None: ...
    async def for_owner(self, owner_id: str) -> list[SavedAddress]: ...
    async def add(self, address: SavedAddress) -> None: ...
    async def delete(self, address_id: str) -> None: ...


class DeliveryUnitOfWork(UnitOfWork, Protocol):
    """What the address book uses."""

    addresses: AddressRepository
