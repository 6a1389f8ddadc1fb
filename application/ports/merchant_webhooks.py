"""The merchant webhook endpoints' store (``domain.merchant_webhooks.Endpoint``)."""
from __future__ import annotations

from typing import Protocol

from domain.merchant_webhooks import Endpoint


class EndpointRepository(Protocol):
    async def add(self, endpoint: Endpoint) -> None: ...

    async def get(self, endpoint_id: str) -> Endpoint | None: ...

    async def save(self, endpoint: Endpoint) -> None:
        """Store ``endpoint``'s new state (it exists)."""
        ...

    async def delete(self, endpoint_id: str) -> bool: ...

    async def list(self) -> list[Endpoint]:
        """Every endpoint, oldest first."""
        ...

    async def subscribed(self, event_type: str) -> list[Endpoint]:
        """The enabled endpoints that subscribe to ``event_type``."""
        ...
