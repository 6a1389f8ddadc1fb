"""An in-process cache tier in front of Redis, invalidated across processes over Redis pub/sub.

A hit in the local tier costs no network round trip (a known absence is held too). Every
invalidation (``delete``, ``delete_pattern``, ``invalidate``) drops the entries here at once, so
the process that made a write never serves what it replaced, and is published on a channel that
every other process's listener applies.

Elsewhere an entry is stale only until that message arrives (sub-millisecond on loopback). The
bound does not rest on the message arriving: the listener pings Redis over its subscription every
quarter of ``staleness``, and Redis answers in order, so a pong proves that every invalidation
published before its ping has been applied here. The tier serves nothing unless a ping sent less
than ``staleness`` ago has come back; a ping unanswered for that long (a silent connection) makes
the listener clear the tier and subscribe again, and so does a reconnection that redis-py makes by
itself (its retry on a failed read), since what was published meanwhile is lost. ``staleness`` is
the documented bound on how stale another process can be, and entries may therefore live long
(``local_ttl``) without being fetched again: a cached read in steady state costs no Redis round
trip at all.

Refresh-ahead: an entry this process stored in Redis (a fill) with a TTL no longer than
``local_ttl`` expires here and in Redis together, and its next read would be a miss that goes to
the origin while the reader waits. Once ``REFRESH_AHEAD`` of its lifetime is left, the first read
that finds it is told so (``due``, read by ``CacheAside.peek``): it is answered from here, and the
caller refills the entry in the background, so a read of a popular entry never waits on its
expiry. One read is told per entry; an entry nobody reads in that last part expires as before.

A local fill races a message that invalidates it only if the message arrives while the value is
in flight from Redis; fills record the invalidation count before asking and are dropped if it moved.
``incr`` always goes to Redis; ``invalidate`` bumps counters there and drops any local copy (with
the entries) here and, by its announcement, everywhere. ``CacheAside`` reads key generations from
Redis directly (its ``control``: a fill check needs the value of this instant), and group versions
through this tier, with the same staleness bound as the entries.
"""
from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import logging
from collections import OrderedDict, deque
from collections.abc import Sequence

from redis.asyncio import Redis

from adapters.redis.cache import RedisCache
from adapters.system import SystemClock
from application.ports import Cache, Clock

log = logging.getLogger(__name__)
#: the part of a filled entry's lifetime left when its first read asks for a refill (``due``)
REFRESH_AHEAD = 0.2
_NEVER = float("inf")


class TieredCache:
    def __init__(self, shared: Cache, redis: Redis, prefix: str, local_ttl: float = 60.0,
                 max_entries: int = 50_000, channel: str = "cache:invalidate", staleness: float = 2.0,
                 clock: Clock | None = None) -> None:
        if staleness <= 0:
            raise ValueError("the staleness bound of the in-process tier must be positive")
        self.shared, self.redis = shared, redis
        self.channel = prefix + channel
        self.local_ttl, self.max_entries, self.staleness = local_ttl, max_entries, staleness
        #: entry lifetimes and the staleness bound are measured on the clock port (a fake one in tests)
        self._monotonic = (clock or SystemClock()).monotonic
        #: key -> (value or None: known absent, expires at, refill due at)
        self._local: OrderedDict[str, tuple[bytes | None, float, float]] = OrderedDict()
        #: the key of the entry that the last ``peek`` found due for a refill (its caller clears it)
        self.due: str | None = None
        self._invalidations = 0
        #: monotonic instant until which the tier may serve: a ping sent ``staleness`` before it came back
        self._heard_until = 0.0
        self._pings: deque[float] = deque()  # when each unanswered ping was sent (see ``_follow``)
        self._listener: asyncio.Task | None = None
        self._subscribed = asyncio.Event()

    # -- the Cache port ---------------------------------------------------------------------------
    async def get(self, key: str) -> bytes | None:
        """From here when held (an absence too: a group never invalidated has no version in Redis,
        and asking again on every read would cost the round trip this tier saves), else from Redis."""
        hit = self._local.get(key)
        if hit is not None:
            now = self._monotonic()
            if hit[1] > now and now < self._heard_until:
                return hit[0]
            self._local.pop(key, None)
        seen = self._invalidations
        value = await self.shared.get(key)
        self._remember(key, value, self.local_ttl, seen)
        return value

    async def get_with_counter(self, key: str, counter: str) -> tuple[bytes | None, bytes | None]:
        """A value held here, with no counter (None: a hit needs none); else the entry and the
        counter read together from Redis (the counter of this instant, never a copy held here).
        A known absence held here is asked again: the caller fills it with that counter."""
        hit = self._local.get(key)
        if hit is not None and hit[0] is not None:
            now = self._monotonic()
            if hit[1] > now and now < self._heard_until:
                return hit[0], None
        with_counter = getattr(self.shared, "get_with_counter", None)
        if with_counter is None:
            return await self.get(key), None
        seen = self._invalidations
        value, count = await with_counter(key, counter)
        if value is not None:
            self._remember(key, value, self.local_ttl, seen)
        return value, count

    def peek(self, key: str, absent: bytes | None = None) -> bytes | None:
        """The value held here for ``key``, without a coroutine or a round trip; ``absent`` when this
        tier knows there is none; None when it does not know (ask ``get``)."""
        hit = self._local.get(key)
        if hit is not None:
            now = self._monotonic()
            if hit[1] > now and now < self._heard_until:
                if now >= hit[2]:  # the first read in the entry's last part: one refill, by this reader
                    self._local[key] = (hit[0], hit[1], _NEVER)
                    self.due = key
                return absent if hit[0] is None else hit[0]
        return None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if ttl <= 0:  # already expired: nothing is stored, and no copy of the old value may serve
            await self.delete(key)
            return
        seen = self._invalidations
        await self.shared.set(key, value, ttl)
        self._remember(key, value, min(ttl, self.local_ttl), seen, refill=ttl <= self.local_ttl)

    async def set_if_unchanged(self, key: str, value: bytes, ttl: float, counter: str, expected: bytes) -> bool:
        seen = self._invalidations
        stored = await self.shared.set_if_unchanged(key, value, ttl, counter, expected)
        if stored:
            self._remember(key, value, min(ttl, self.local_ttl), seen, refill=ttl <= self.local_ttl)
        return stored

    async def delete(self, *keys: str) -> None:
        self._drop(keys, ())
        await self.shared.delete(*keys)
        await self._publish(keys, ())

    async def delete_pattern(self, pattern: str) -> int:
        self._drop((), (pattern,))
        deleted = await self.shared.delete_pattern(pattern)
        await self._publish((), (pattern,))
        return deleted

    async def incr(self, key: str) -> int:
        """Counted in Redis; a copy held here or elsewhere is dropped, as on any other write."""
        self._drop((key,), ())
        value = await self.shared.incr(key)
        await self._publish((key,), ())
        return value

    async def invalidate(self, keys: Sequence[str], counters: Sequence[str]) -> None:
        """Drop ``keys`` and ``counters`` here (a group version may be held here like an entry), then
        bump, delete and announce in one round trip when the shared tier is Redis itself (the usual
        wiring), else in three."""
        stale = [*keys, *counters]
        self._drop(stale, ())
        if isinstance(self.shared, RedisCache):
            await self.shared.invalidate(keys, counters, publish=(self.channel, self._message(stale, ())))
        else:
            await self.shared.invalidate(keys, counters)
            await self._publish(stale, ())

    # -- the local tier ---------------------------------------------------------------------------
    def _remember(self, key: str, value: bytes | None, ttl: float, seen: int, refill: bool = False) -> None:
        """``refill``: the shared copy expires with this one (this process stored it with ``ttl``),
        so a read in its last ``REFRESH_AHEAD`` is told to refill it."""
        if ttl <= 0 or seen != self._invalidations or not self._subscribed.is_set():
            return  # an invalidation arrived meanwhile, or we would not hear of the next one
        now = self._monotonic()
        self._local[key] = (value, now + ttl, now + ttl * (1 - REFRESH_AHEAD) if refill else _NEVER)
        self._local.move_to_end(key)
        while len(self._local) > self.max_entries:
            self._local.popitem(last=False)

    def _drop(self, keys, patterns) -> None:
        self._invalidations += 1
        for key in keys:
            self._local.pop(key, None)
        for pattern in patterns:
            for key in [k for k in self._local if fnmatch.fnmatchcase(k, pattern)]:
                del self._local[key]

    @staticmethod
    def _message(keys, patterns) -> str:
        return json.dumps({"keys": list(keys), "patterns": list(patterns)})

    async def _publish(self, keys, patterns) -> None:
        await self.redis.publish(self.channel, self._message(keys, patterns))

    # -- the listener (started and stopped with the app) ------------------------------------------
    async def start(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="cache-invalidation-listener")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), timeout=2)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                connection = pubsub.connection
                connection.register_connect_callback(self._resubscribed)
                try:
                    await self._follow(pubsub)
                finally:
                    connection.deregister_connect_callback(self._resubscribed)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - deaf now: forget everything, then try again
                log.warning("cache invalidation channel lost; clearing the local tier", exc_info=True)
            finally:
                self._subscribed.clear()
                self._heard_until = 0.0
                self._local.clear()
                self._invalidations += 1
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(0.5)

    async def _follow(self, pubsub) -> None:
        """Apply invalidations as they arrive, and ping every quarter of ``staleness``. Redis answers
        a subscriber in order: the pong of a ping sent at ``t`` comes after every message published
        before ``t``, so once it is here (and they are applied) the tier may serve until
        ``t + staleness``. A ping left unanswered for ``staleness`` raises: the caller clears the
        tier and subscribes again."""
        sent = self._pings  # ping times, oldest first; pongs come back in the same order
        sent.clear()
        beat = self.staleness / 4
        next_ping = self._monotonic()
        while True:
            now = self._monotonic()
            if sent and now - sent[0] > self.staleness:
                raise ConnectionError(f"no answer to a ping over the invalidation channel in {self.staleness}s")
            if now >= next_ping:
                await pubsub.ping()
                sent.append(now)
                next_ping = now + beat
            wake = min(next_ping, sent[0] + self.staleness) if sent else next_ping
            message = await pubsub.get_message(timeout=max(0.0, wake - now))
            if message is None:
                continue
            kind = message["type"]
            if kind == "message":
                data = json.loads(message["data"])
                self._drop(data.get("keys", ()), data.get("patterns", ()))
            elif kind == "pong" and sent:
                self._heard_until = sent.popleft() + self.staleness
                self._subscribed.set()  # the first pong follows the subscription's confirmation

    def _resubscribed(self, connection) -> None:
        """redis-py reconnected the subscription by itself (its retry on a failed read) and has sent
        SUBSCRIBE again. Whatever was published in between is lost: forget everything, and trust
        nothing until a ping sent from now on comes back (pings sent before are lost too)."""
        self._subscribed.clear()
        self._heard_until = 0.0
        self._local.clear()
        self._invalidations += 1
        self._pings.clear()
