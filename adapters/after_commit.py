"""What both units of work do with ``after_commit`` actions."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def run_after_commit(actions: list[Callable[[], Awaitable[None]]]) -> None:
    """Run each action in order: the change is committed whatever they do, so a failure is logged."""
    for action in actions:
        try:
            await action()
        except Exception:  # noqa: BLE001
            log.exception("an after-commit action failed")
