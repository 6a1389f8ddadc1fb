"""The memory backend keeps no invalidation journal: its cache is the memory cache, which cannot
lose an invalidation (nothing stages one on it)."""
from __future__ import annotations

from collections.abc import Callable

from adapters.memory.session import MemorySession
from application.ports.caching import StagedInvalidation


class MemoryCacheJournal:
    def __init__(self, session: MemorySession) -> None:
        self.session = session

    async def record(self, entry: StagedInvalidation) -> None:
        return None

    def applied(self, entry_id: str) -> None:
        return None


REPOSITORIES: dict[str, Callable[[MemorySession], object]] = {"cache_journal": MemoryCacheJournal}
