"""``EventBus`` across processes on a Redis Stream read through a consumer group."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import defaultdict
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from adapters.metrics import Metrics
from adapters.redis.client import DEFAULT_PREFIX
from adapters.redis.fallback import BACKEND_ERRORS, outage_tracker
from application.errors import DependencyUnavailable
from application.jobs import FailureLog
from application.outages import OutageTracker
from application.ports import EventHandler
from domain.events import DomainEvent, event_from_dict

log = logging.getLogger(__name__)
_FIELD = b"event"


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class RedisStreamsEventBus:
    """Domain events through the stream ``{prefix}{stream}``, one consumer group per service.

    ``publish`` appends ``event.to_dict()`` as JSON (``XADD ... MAXLEN ~ maxlen``) and raises
    ``DependencyUnavailable`` if Redis is down, so the outbox relay keeps the row and retries.
    An outage (of publishing, or of the consumer loop, which retries with backoff) is logged once
    when it starts and once when it ends, with rate-limited reminders (``application.outages``),
    never a traceback per event or per retry. ``subscribe`` registers
    handlers in this process (matched with ``isinstance``, like ``InMemoryEventBus``). ``run``
    (or ``start``/``stop``) consumes: every entry goes to exactly one consumer of the group at a
    time, while every group sees every entry.

    Delivery is **at least once**: an entry is ``XACK``ed only after all matching handlers
    returned. A failing handler is logged and counted (``failures``,
    ``metrics.event_handler_failures``) and the entry stays pending; once idle ``claim_idle``
    seconds it is taken over with ``XAUTOCLAIM`` by a live consumer (its own, after a crash
    another) and all its handlers run again. After ``max_deliveries`` it moves to the stream
    ``{prefix}{stream}:dead`` and is acked. Handlers must therefore be idempotent (the
    notification handler dedups on the event key); order is per-stream but not guaranteed
    across redeliveries. ``start_id="0"`` makes a new group read the retained stream from its
    start, so no event published before the first worker started is lost.

    ``block`` (seconds) must stay below the client's ``socket_timeout``; it is capped to half of it.
    """

    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX, stream: str = "events",
                 group: str = "payport", consumer: str | None = None, *, metrics: Metrics | None = None,
                 maxlen: int = 100_000, batch: int = 32, block: float = 1.0, claim_idle: float = 60.0,
                 claim_every: float = 5.0, max_deliveries: int = 10, start_id: str = "0") -> None:
        self.redis = redis
        self.key = f"{prefix}{stream}"
        self.dead_key = f"{self.key}:dead"
        self.group = group
        self.consumer = consumer or default_consumer_name()
        self.metrics = metrics
        self.maxlen, self.batch = maxlen, batch
        pool = getattr(redis, "connection_pool", None)
        socket_timeout = pool.connection_kwargs.get("socket_timeout") if pool is not None else None
        self.block_ms = max(1, int(1000 * (min(block, socket_timeout / 2) if socket_timeout else block)))
        self.claim_idle_ms = int(claim_idle * 1000)
        self.claim_every = claim_every
        self.max_deliveries = max_deliveries
        self.start_id = start_id
        self._handlers: dict[type, list[EventHandler]] = defaultdict(list)
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self.failures = 0
        self.delivered = 0
        self.outages: OutageTracker = outage_tracker(metrics, log)
        self._errors = FailureLog(log)
        self._reader = f"redis (event consumer {self.consumer})"

    # -- publishing ---------------------------------------------------------------------------
    def subscribe(self, event_type: type[DomainEvent], handler: EventHandler) -> None:
        self._handlers[event_type].append(handler)

    def delivers(self, event: DomainEvent) -> bool:
        return True  # the stream is read by other processes too: every event goes out

    async def publish(self, event: DomainEvent) -> None:
        payload = orjson.dumps(event.to_dict())
        try:
            await self.redis.xadd(self.key, {_FIELD: payload}, maxlen=self.maxlen, approximate=True)
        except BACKEND_ERRORS as exc:
            self.outages.failed("redis (event bus)", exc, "events are left to the outbox relay")
            raise DependencyUnavailable("the event bus is unavailable", dependency="redis") from exc
        self.outages.recovered("redis (event bus)")
        if self.metrics is not None:
            self.metrics.events_published.labels(event=event.name).inc()

    # -- consuming ----------------------------------------------------------------------------
    async def ensure_group(self) -> None:
        """Create the stream and the group if missing (idempotent)."""
        try:
            await self.redis.xgroup_create(self.key, self.group, id=self.start_id, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def start(self) -> None:
        await self.ensure_group()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.run(self._stop), name=f"events:{self.group}:{self.consumer}")

    async def stop(self, timeout: float = 5.0) -> None:
        if self._task is None or self._stop is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(self._task, timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = self._stop = None
        with contextlib.suppress(Exception):  # leave no empty consumer behind after a deploy
            if not await self.redis.xpending_range(self.key, self.group, "-", "+", 1, consumername=self.consumer):
                await self.redis.xgroup_delconsumer(self.key, self.group, self.consumer)

    async def run(self, stop_event: asyncio.Event) -> None:
        """Consume until ``stop_event`` is set. Redis errors are logged and retried with backoff."""
        loop = asyncio.get_running_loop()
        next_claim, backoff = 0.0, 0.1
        while not stop_event.is_set():
            try:
                if loop.time() >= next_claim:
                    await self.claim_stale()
                    next_claim = loop.time() + self.claim_every
                await self.read_new()
                backoff = 0.1
                self.outages.recovered(self._reader)
                self._errors.succeeded(self._reader)
            except ResponseError as exc:
                if "NOGROUP" in str(exc):  # stream or group deleted under us
                    log.warning("consumer group %s missing on %s: recreating", self.group, self.key)
                    await self._pause(stop_event, backoff)
                    with contextlib.suppress(Exception):
                        await self.ensure_group()
                else:  # LOADING, BUSY, MASTERDOWN...: Redis is there but cannot serve yet
                    self.outages.failed(self._reader, exc, "retrying with backoff")
                    await self._pause(stop_event, backoff)
                backoff = min(backoff * 2, 5.0)
            except BACKEND_ERRORS as exc:
                self.outages.failed(self._reader, exc, "retrying with backoff")
                await self._pause(stop_event, backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception as exc:  # noqa: BLE001 - not Redis: the traceback once, then a line now and then
                self._errors.failed(self._reader, exc)
                await self._pause(stop_event, backoff)
                backoff = min(backoff * 2, 5.0)

    async def read_new(self) -> int:
        """One ``XREADGROUP`` of never-delivered entries (blocking up to ``block``); returns how many."""
        response = await self.redis.xreadgroup(self.group, self.consumer, {self.key: ">"},
                                               count=self.batch, block=self.block_ms)
        count = 0
        for _, entries in _streams(response):
            for entry_id, fields in entries:
                await self._deliver(entry_id, fields)
                count += 1
        return count

    async def claim_stale(self) -> int:
        """Take over entries pending longer than ``claim_idle`` (any consumer, this one included)."""
        start, count = "0-0", 0
        while True:
            reply = await self.redis.xautoclaim(self.key, self.group, self.consumer,
                                                min_idle_time=self.claim_idle_ms, start_id=start, count=self.batch)
            start, entries = reply[0], reply[1]
            deliveries = await self._delivery_counts(entries)
            for entry_id, fields in entries:
                if fields is None:
                    continue
                if deliveries.get(entry_id, 0) > self.max_deliveries:
                    await self._dead_letter(entry_id, fields, "max_deliveries")
                else:
                    await self._deliver(entry_id, fields)
                count += 1
            if start in (b"0-0", "0-0"):
                return count

    async def _delivery_counts(self, entries: list[Any]) -> dict[Any, int]:
        ids = [entry_id for entry_id, fields in entries if fields is not None]
        if not ids:
            return {}
        rows = await self.redis.xpending_range(self.key, self.group, min(ids, key=_id_key),
                                               max(ids, key=_id_key), len(ids), consumername=self.consumer)
        return {row["message_id"]: row["times_delivered"] for row in rows}

    async def _deliver(self, entry_id: Any, fields: dict) -> None:
        try:
            event = event_from_dict(orjson.loads(fields[_FIELD]))
        except Exception:
            log.exception("undecodable event %r on %s", entry_id, self.key)
            await self._dead_letter(entry_id, fields, "undecodable")
            return
        ok = True
        for event_type, handlers in list(self._handlers.items()):
            if not isinstance(event, event_type):
                continue
            for handler in handlers:
                try:
                    await handler(event)
                except Exception:
                    ok = False
                    self.failures += 1
                    if self.metrics is not None:
                        self.metrics.event_handler_failures.labels(event=event.name).inc()
                    log.exception("event handler %r failed for %s %r", handler, event.name, entry_id)
        if ok:
            await self.redis.xack(self.key, self.group, entry_id)
            self.delivered += 1

    async def _dead_letter(self, entry_id: Any, fields: dict, reason: str) -> None:
        record = {**(fields or {}), b"source_id": entry_id, b"group": self.group, b"reason": reason}
        await self.redis.xadd(self.dead_key, record, maxlen=10_000, approximate=True)
        await self.redis.xack(self.key, self.group, entry_id)
        log.error("event %r moved to %s (%s)", entry_id, self.dead_key, reason)

    @staticmethod
    async def _pause(stop_event: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), seconds)


def _streams(response: Any) -> list[tuple[Any, list]]:
    """XREADGROUP's reply as ``[(stream, entries)]`` under RESP2 (list) and RESP3 (dict)."""
    if not response:
        return []
    if isinstance(response, dict):
        return [(name, value[0] if value and isinstance(value[0], list) else value) for name, value in response.items()]
    return [(name, entries) for name, entries in response]


def _id_key(entry_id: bytes | str) -> tuple[int, int]:
    ms, _, seq = (entry_id.decode() if isinstance(entry_id, bytes) else entry_id).partition("-")
    return int(ms), int(seq or 0)
