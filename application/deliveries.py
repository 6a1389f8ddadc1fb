"""The delivery dispatcher: the worker job that sends what the delivery queue holds.

Each channel has one sender (``channel -> async send(delivery) -> DeliveryOutcome``); a context
that produces deliveries registers its sender in its container (``delivery_senders``). A pass
claims due deliveries of the registered channels, sends them concurrently outside any
transaction, each within ``send_timeout`` (the lease is twice that, so a claim never runs out
while its send can still be going), and records every attempt.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from application.jobs import FailureLog
from application.ports import Clock
from application.ports.deliveries import Delivery, DeliveryOutcome, DeliveryQueue, Sender

log = logging.getLogger(__name__)


class DeliveryDispatcher:
    """A ``Job``: one pass claims up to ``batch`` due deliveries and attempts each once."""

    name = "deliveries"

    def __init__(self, queue: DeliveryQueue, senders: Mapping[str, Sender], clock: Clock, *, interval: float = 5.0,
                 batch: int = 100, send_timeout: float = 30.0, concurrency: int = 10) -> None:
        self.queue, self.senders, self.clock = queue, dict(senders), clock
        self.interval, self.batch, self.send_timeout = interval, batch, send_timeout
        self.concurrency = concurrency
        self._failures = FailureLog(log)

    async def run_once(self) -> int:
        if not self.senders:
            return 0
        claimed = await self.queue.claim(sorted(self.senders), limit=self.batch, lease_seconds=2 * self.send_timeout)
        gate = asyncio.Semaphore(self.concurrency)

        async def attempt(delivery: Delivery) -> None:
            async with gate:
                try:
                    await self.attempt(delivery)
                except Exception as exc:  # noqa: BLE001 - recording failed: the lease brings it back
                    self._failures.failed(f"recording delivery {delivery.id}", exc)
        await asyncio.gather(*(attempt(d) for d in claimed))
        return len(claimed)

    async def attempt(self, delivery: Delivery) -> None:
        """Send ``delivery`` once and record the outcome; a sender that raises or overruns its
        time is a failed attempt."""
        started = self.clock.now()
        subject = f"{delivery.channel} delivery {delivery.id}"
        try:
            async with asyncio.timeout(self.send_timeout):
                outcome = await self.senders[delivery.channel](delivery)
        except TimeoutError:
            outcome = DeliveryOutcome.failed(f"no answer within {self.send_timeout:g} s")
        except Exception as exc:  # noqa: BLE001 - a sender's bug is this delivery's failure, not the pass's
            self._failures.failed(subject, exc)
            outcome = DeliveryOutcome.failed(f"{type(exc).__name__}: {exc}")
        else:
            self._failures.succeeded(subject)
        elapsed = (self.clock.now() - started).total_seconds()
        await self.queue.record(delivery, outcome, started_at=started, duration_ms=max(0, round(elapsed * 1000)))
