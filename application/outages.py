"""One small tracker for dependency outages (Redis, Postgres, a gateway breaker): an outage is
logged once when it starts and once when it ends, with rate-limited reminders in between, and
never with a traceback per request. A 10-second Redis outage under load used to write thousands
of tracebacks while every payment still went through."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable


def describe(error: BaseException) -> str:
    """The error's class and the start of its message: enough to tell outages apart, no traceback."""
    text = str(error).replace("\n", " ")
    return f"{type(error).__name__}: {text[:160]}" if text else type(error).__name__


class _Down:
    __slots__ = ("since", "warned", "failures", "suppressed")

    def __init__(self, now: float) -> None:
        self.since = self.warned = now
        self.failures = 1
        self.suppressed = 0


class OutageTracker:
    """``failed(dependency, error)`` on each failure, ``recovered(dependency)`` on each success.

    - the first failure of an outage logs one ERROR line (``dependency down``) and calls ``on_down``
      (a Prometheus counter of outages by dependency);
    - later failures log a WARNING at most once per ``interval`` seconds, with how many failures
      were not logged since the last line;
    - the first success after an outage logs one WARNING line (``dependency back``) with its length.
    """

    def __init__(self, logger: logging.Logger, interval: float = 30.0,
                 on_down: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.log, self.interval, self.clock = logger, interval, clock
        self.on_down = on_down or (lambda dependency: None)
        self._down: dict[str, _Down] = {}

    def is_down(self, dependency: str) -> bool:
        return dependency in self._down

    def failures(self, dependency: str) -> int:
        """How many failures the outage of ``dependency`` under way has seen (0: it is up)."""
        state = self._down.get(dependency)
        return state.failures if state is not None else 0

    def failed(self, dependency: str, error: BaseException, consequence: str = "") -> None:
        now = self.clock()
        state = self._down.get(dependency)
        suffix = f"; {consequence}" if consequence else ""
        if state is None:
            self._down[dependency] = _Down(now)
            self.on_down(dependency)
            self.log.error("dependency down: %s (%s)%s", dependency, describe(error), suffix)
            return
        state.failures += 1
        if now - state.warned >= self.interval:
            self.log.warning("dependency still down: %s for %.0fs, %d failures not logged (%s)%s",
                             dependency, now - state.since, state.suppressed, describe(error), suffix)
            state.warned, state.suppressed = now, 0
        else:
            state.suppressed += 1

    def recovered(self, dependency: str, started: float | None = None) -> None:
        """A call to ``dependency`` worked. ``started``: when it began (this tracker's clock); a
        call that began before the outage was seen proves nothing about it, and is ignored."""
        if not self._down:  # the common case: nothing is down, nothing to look up
            return
        state = self._down.get(dependency)
        if state is not None and (started is None or started >= state.since):
            del self._down[dependency]
            self.log.warning("dependency back: %s after %.1fs and %d failures",
                             dependency, self.clock() - state.since, state.failures)
