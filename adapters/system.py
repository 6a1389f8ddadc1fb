"""Clock and id adapters (system and controllable)."""
from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    #: the builtin itself: a caller that keeps ``clock.monotonic`` pays nothing over ``time.monotonic``
    monotonic = staticmethod(time.monotonic)


class FakeClock:
    """A clock tests move by hand (TTL and expiry tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds


_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class RandomIds:
    """``prefix_`` + 128 random bits (base32-ish); order numbers ``PP-YYMMDD-XXXXXXXX``."""

    def __init__(self, clock: SystemClock | FakeClock | None = None) -> None:
        self.clock = clock or SystemClock()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"

    def order_number(self) -> str:
        suffix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        return f"PP-{self.clock.now():%y%m%d}-{suffix}"
