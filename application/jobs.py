"""Background jobs: what ``payport worker`` runs, each on its own interval.

A context registers its jobs in its container (``jobs``); the worker gathers every context's list
and runs each job when it is due. A job's pass returns how many rows it handled. Inside a pass,
``each_isolated`` keeps one row's failure from stopping the scan: the row is logged and skipped,
and the next pass tries it again. A dependency that is down (``DependencyUnavailable``) is no
row's failure: it ends the pass, and is logged once per outage by the dependency's own tracker
(``application.outages``), never here with a traceback per job or row.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from application.errors import DependencyUnavailable

log = logging.getLogger(__name__)
Row = TypeVar("Row")


class Job(Protocol):
    """One periodic job: ``run_once`` does a single pass and returns how many rows it handled.
    A pass is idempotent and safe beside the same job in another process."""

    name: str
    #: seconds between the starts of two passes
    interval: float

    async def run_once(self) -> int: ...


class Every:
    """A ``Job`` that calls ``action(*args)`` every ``interval`` seconds."""

    def __init__(self, name: str, interval: float, action: Callable[..., Awaitable[int]], *args: Any) -> None:
        self.name, self.interval, self.action, self.args = name, interval, action, args

    async def run_once(self) -> int:
        return await self.action(*self.args)

    def __repr__(self) -> str:
        return f"Every({self.name!r}, {self.interval})"


class FailureLog:
    """Logs a repeated failure once: the traceback the first time a subject fails a given way,
    one line while it keeps failing that way, and a line when it works again."""

    def __init__(self, logger: logging.Logger, max_subjects: int = 10_000) -> None:
        self.logger, self.max_subjects = logger, max_subjects
        self._failing: dict[str, tuple[str, int]] = {}

    def failed(self, subject: str, exc: BaseException) -> None:
        if isinstance(exc, DependencyUnavailable):  # an outage: its tracker logs it once
            return
        signature = f"{type(exc).__name__}: {exc}"
        previous, times = self._failing.get(subject, ("", 0))
        if previous == signature:
            self._failing[subject] = (signature, times + 1)
            if (times + 1) & times == 0:  # 2, 4, 8, ... failures in a row: still say so, less often
                self.logger.warning("%s still failing (%d times in a row): %s", subject, times + 1, signature)
            return
        if len(self._failing) >= self.max_subjects:
            self._failing.pop(next(iter(self._failing)))
        self._failing[subject] = (signature, 1)
        self.logger.error("%s failed: %s", subject, signature, exc_info=exc)

    def succeeded(self, subject: str) -> None:
        if self._failing.pop(subject, None) is not None:
            self.logger.info("%s works again", subject)


_rows = FailureLog(log)


async def each_isolated(rows: Iterable[Row], action: Callable[[Row], Awaitable[Any]], what: str,
                        key: Callable[[Row], str] = lambda row: str(getattr(row, "id", row))) -> int:
    """``await action(row)`` for every row; a row that raises is logged (``what`` and its key) and
    skipped. Returns how many rows were handled: neither raised nor returned ``False``."""
    done = 0
    for row in rows:
        subject = f"{what} {key(row)}"
        try:
            handled = await action(row)
        except DependencyUnavailable:
            raise  # not this row's fault: the pass ends, the next one tries again
        except Exception as exc:  # noqa: BLE001 - one bad row never stops the scan
            _rows.failed(subject, exc)
            continue
        _rows.succeeded(subject)
        done += handled is not False
    return done
