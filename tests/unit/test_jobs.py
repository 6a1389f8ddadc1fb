"""Worker jobs: each on its interval, one's failure never stopping another, each row of a scan isolated."""
from __future__ import annotations

import asyncio
import logging

from application.jobs import Every, FailureLog, each_isolated
from entrypoints.worker import Worker


class Counting:
    def __init__(self, name: str, interval: float = 0.0, fail: bool = False) -> None:
        self.name, self.interval, self.fail, self.runs = name, interval, fail, 0

    async def run_once(self) -> int:
        self.runs += 1
        if self.fail:
            raise ConnectionResetError("database went away")
        return 1


async def test_once_runs_each_job_once_and_a_failing_one_does_not_stop_the_others(caplog):
    broken, fine = Counting("broken", fail=True), Counting("fine")
    done = await Worker([broken, Counting("first"), fine]).run_each_once()
    assert done == {"broken": None, "first": 1, "fine": 1}
    assert (broken.runs, fine.runs) == (1, 1)
    assert "job broken failed: ConnectionResetError: database went away" in caplog.text


async def test_each_job_runs_on_its_own_interval_beside_a_failing_one(caplog):
    caplog.set_level(logging.INFO)
    broken, frequent, rare = Counting("broken", fail=True), Counting("frequent", 0.0), Counting("rare", 3600.0)
    stop = asyncio.Event()
    worker = Worker([broken, frequent, rare])
    task = asyncio.create_task(worker.run(stop))
    while frequent.runs < 20:
        await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert rare.runs == 1 and broken.runs >= 19
    tracebacks = [r for r in caplog.records if r.exc_info and "broken" in r.getMessage()]
    assert len(tracebacks) == 1  # logged once, then one line at 2, 4, 8, 16 failures in a row
    assert [r.getMessage() for r in caplog.records if "still failing" in r.getMessage()][:2] == [
        "job broken still failing (2 times in a row): ConnectionResetError: database went away",
        "job broken still failing (4 times in a row): ConnectionResetError: database went away"]


def test_a_failure_that_changes_or_stops_is_told(caplog):
    caplog.set_level(logging.INFO)
    failures = FailureLog(logging.getLogger("t"))
    failures.failed("job x", ValueError("one"))
    failures.failed("job x", ValueError("two"))  # a different failure: its own traceback
    failures.succeeded("job x")
    failures.succeeded("job x")  # nothing to tell
    assert [(r.levelname, r.getMessage(), bool(r.exc_info)) for r in caplog.records] == [
        ("ERROR", "job x failed: ValueError: one", True), ("ERROR", "job x failed: ValueError: two", True),
        ("INFO", "job x works again", False)]


async def test_one_bad_row_never_stops_the_scan(caplog):
    seen = []

    async def handle(row: int):
        seen.append(row)
        if row == 2:
            raise KeyError("poison")
        return row != 4  # False: looked at, not handled
    assert await each_isolated([1, 2, 3, 4, 5], handle, "row", key=str) == 3
    assert seen == [1, 2, 3, 4, 5]
    assert "row 2 failed: KeyError: 'poison'" in caplog.text


async def test_every_calls_its_action_with_its_arguments():
    calls = []

    async def action(limit: int) -> int:
        calls.append(limit)
        return limit
    job = Every("reap", 60.0, action, 100)
    assert (job.name, job.interval, await job.run_once(), calls) == ("reap", 60.0, 100, [100])
