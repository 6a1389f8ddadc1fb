"""The in-process tables behind the memory unit of work and read model."""
from __future__ import annotations

import asyncio
from typing import Any

import attrs


@attrs.define
class MemoryStore:
    """Committed state. ``lock`` serialises writing units of work (the memory analogue of row locks)."""

    tables: dict[str, dict[str, Any]] = attrs.field(factory=lambda: {
        name: {} for name in (
            "users", "products", "categories", "coupons", "orders", "payments", "refunds",
            "webhooks", "notifications",
        )
    })
    ledger: list[Any] = attrs.field(factory=list)
    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    #: Counts committed units of work (tests read it to prove a path wrote nothing).
    commits: int = 0
