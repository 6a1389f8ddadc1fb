"""The battery's sizes: quick in CI, long behind ``PAYPORT_RELIABILITY_FULL=1``."""
from __future__ import annotations

import os

FULL = os.environ.get("PAYPORT_RELIABILITY_FULL") == "1"


def size(quick: int, full: int) -> int:
    """How many runs (or concurrent requests) a battery test makes in this variant."""
    return full if FULL else quick
