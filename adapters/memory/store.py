"""The in-process tables behind the memory unit of work and read model."""
from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import attrs


@attrs.define
class MemoryStore:
    """Committed state. ``lock`` serialises writing units of work (the memory analogue of row locks).

    A table is there from its first use (``tables["support_tickets"]``): no list of names to extend."""

    tables: defaultdict[str, dict[str, Any]] = attrs.field(factory=lambda: defaultdict(dict))
    ledger: list[Any] = attrs.field(factory=list)
    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    #: Counts committed units of work (tests read it to prove a path wrote nothing).
    commits: int = 0
