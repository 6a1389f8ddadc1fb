"""Origin loaders for cache tests that record what they were asked to load."""
from __future__ import annotations

from collections.abc import Awaitable, Callable


class RecordingLoads:
    """``loads(value)`` is a loader answering ``value``; ``loads.seen`` lists what was loaded, in order."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def __call__(self, value: bytes) -> Callable[[], Awaitable[bytes]]:
        async def load() -> bytes:
            self.seen.append(value)
            return value
        return load
