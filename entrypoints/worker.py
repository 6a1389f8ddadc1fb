"""``payport worker``: every registered job on its own interval (``Background``: the same jobs
inside ``payport serve``, on the embedded default).

The jobs come from the containers (``jobs`` registrations, see ``entrypoints/wiring``). Each job
runs in a loop of its own, so a slow or failing job never holds up another (the outbox relay goes
on while a gateway hangs the settlement job). A pass that raises is logged once (the traceback the
first time, a line while it keeps failing the same way) and tried again on the next interval.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from application.jobs import FailureLog, Job
from entrypoints.wiring import gather_list

log = logging.getLogger("payport.worker")


async def registered_jobs(container) -> list[Job]:
    jobs = await gather_list(container, "jobs")
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise RuntimeError(f"two jobs share a name: {sorted(n for n in names if names.count(n) > 1)}")
    return jobs


class Worker:
    def __init__(self, jobs: Sequence[Job]) -> None:
        self.jobs = list(jobs)
        self.failures = FailureLog(log)

    async def run_job(self, job: Job) -> int | None:
        """One pass of ``job``: how many rows it handled, or None when it failed (logged)."""
        try:
            done = await job.run_once()
        except Exception as exc:  # noqa: BLE001 - a failed pass is logged and retried, never fatal
            self.failures.failed(f"job {job.name}", exc)
            return None
        self.failures.succeeded(f"job {job.name}")
        if done:
            log.info("%s: %d", job.name, done)
        return done

    async def run_each_once(self) -> dict[str, int | None]:
        """Every job once, one after the other (``payport worker --once``)."""
        return {job.name: await self.run_job(job) for job in self.jobs}

    async def run(self, stop: asyncio.Event) -> None:
        """Every job on its interval until ``stop`` is set; the first passes start at once."""
        await asyncio.gather(*(self._loop(job, stop) for job in self.jobs))

    async def _loop(self, job: Job, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            await self.run_job(job)
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, job.interval - (loop.time() - started)))
            except TimeoutError:
                pass


class Background:
    """The worker's jobs run inside another process (``payport serve`` on the embedded default,
    where no separate worker can see its memory): started with the app, stopped before it."""

    def __init__(self, worker: Worker) -> None:
        self.worker, self.stopping = worker, asyncio.Event()
        self.task: asyncio.Task | None = None

    @classmethod
    async def start(cls, container) -> Background:
        background = cls(Worker(await registered_jobs(container)))
        background.task = asyncio.create_task(background.worker.run(background.stopping))
        log.info("worker jobs running in this process: %s",
                 ", ".join(f"{job.name} every {job.interval:g}s" for job in background.worker.jobs))
        return background

    async def stop(self, grace: float = 10.0) -> None:
        """Let the passes under way finish (at most ``grace`` seconds), then stop."""
        self.stopping.set()
        if self.task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self.task), grace)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
