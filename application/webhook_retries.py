"""The worker's webhook retries, claimed: several workers never process one inbox row together.

``Webhooks.process_pending`` scans the inbox inside a unit of work it never commits, so it cannot
claim what it reads; this job claims the due rows first (``MaintenanceQueries.due_webhooks``: their
next attempt moves a lease ahead, ``FOR UPDATE SKIP LOCKED``), then processes each through
``Webhooks.process`` as ``process_pending`` would. A row just received is left to the request that
received it for ``grace`` (it processes it at once) before a worker may take it.
"""
from __future__ import annotations

from datetime import timedelta

from application.jobs import each_isolated
from application.payments.webhooks import MAX_ATTEMPTS, Webhooks
from application.ports import Clock
from application.ports.maintenance import MaintenanceQueries


class WebhookRetries:
    """A ``Job``."""

    name = "webhook_retries"

    def __init__(self, queries: MaintenanceQueries, webhooks: Webhooks, clock: Clock, interval: float = 5.0,
                 limit: int = 100, grace: timedelta = timedelta(seconds=30)) -> None:
        self.queries, self.webhooks, self.clock = queries, webhooks, clock
        self.interval, self.limit, self.grace = interval, limit, grace

    async def run_once(self) -> int:
        due = await self.queries.due_webhooks(now=self.clock.now(), limit=self.limit, max_attempts=MAX_ATTEMPTS,
                                              grace=self.grace)
        await each_isolated(due, lambda entry: self.webhooks.process(entry.id), "processing webhook")
        return len(due)
