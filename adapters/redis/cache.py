"""``Cache`` on Redis: byte values with millisecond TTLs under one key prefix."""
from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from adapters.redis.client import DEFAULT_PREFIX
from adapters.redis.lean import lean

#: ``incr`` counters live a day after their last increment (as ``MemoryCache``).
COUNTER_TTL = 86400
#: KEYS: the entry, its counter. ARGV: value, ttl in ms, the counter value the fill read before loading.
SET_IF_UNCHANGED = """
local current = redis.call('GET', KEYS[2]) or '0'
if current ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
_GLOB_SPECIAL = "*?[]\\"


def glob_escape(text: str) -> str:
    """Escape ``text`` so it matches itself literally in a Redis ``MATCH`` pattern."""
    return "".join("\\" + c if c in _GLOB_SPECIAL else c for c in text)


def ttl_ms(ttl: float) -> int:
    """A TTL in seconds as Redis milliseconds (at least 1 ms; the caller handles ttl <= 0)."""
    return max(1, math.ceil(ttl * 1000))


class RedisCache:
    """``Cache`` port on Redis. Every key is stored as ``prefix + key``.

    Errors propagate (``CacheAside`` and ``LocalFallbackCache`` decide what a failure means).
    ``delete_pattern`` takes a shell glob (``fnmatch`` semantics, as ``MemoryCache``) and walks
    the keyspace with ``SCAN`` (never ``KEYS``), matching on the pattern's literal head server
    side and on the whole pattern client side, so ``[!x]`` and friends mean the same everywhere.
    """

    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX, scan_count: int = 500) -> None:
        self.redis = redis
        self.prefix = prefix
        self.scan_count = scan_count
        self._set_if_unchanged = redis.register_script(SET_IF_UNCHANGED)
        self.lean = lean(redis)  # the calls of every cached read and write (adapters/redis/lean.py)

    def _key(self, key: str) -> str:
        return self.prefix + key

    async def get(self, key: str) -> bytes | None:
        return (await self.lean.call((("GET", self._key(key)),)))[0]

    async def get_with_counter(self, key: str, counter: str) -> tuple[bytes | None, bytes]:
        """An entry and a counter (b"0" when unset) in one MGET: a miss learns its generation in
        the round trip of its lookup. Two keys in one command: they share a hash slot (the
        counter is ``{key}:gen`` of a hash-tagged key)."""
        [(value, count)] = await self.lean.call((("MGET", self._key(key), self._key(counter)),))
        return value, count or b"0"

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if ttl <= 0:  # already expired: what MemoryCache would answer on the next get
            await self.lean.call((("UNLINK", self._key(key)),))
            return
        await self.lean.call((("SET", self._key(key), value, "PX", ttl_ms(ttl)),))

    async def set_if_unchanged(self, key: str, value: bytes, ttl: float, counter: str, expected: bytes) -> bool:
        """One Lua script (EVALSHA): the check and the write cannot be split by an invalidation."""
        if ttl <= 0:
            return False
        keys, args = [self._key(key), self._key(counter)], [value, ttl_ms(ttl), expected]
        [stored] = await self.lean.call((("EVALSHA", self._set_if_unchanged.sha, 2, *keys, *args),),
                                        raise_on_error=False)
        if isinstance(stored, NoScriptError):  # Redis restarted or was flushed: load the script with the call
            stored = await self._set_if_unchanged(keys=keys, args=args)
        elif isinstance(stored, Exception):
            raise stored
        return bool(stored)

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._unlink_each([self._key(k) for k in keys])

    async def _unlink_each(self, names) -> int:
        """One UNLINK per key, in one batch: one round trip, and no command that spans hash slots."""
        return sum(await self.lean.call([("UNLINK", name) for name in names]))

    async def delete_pattern(self, pattern: str) -> int:
        head = pattern
        for i, char in enumerate(pattern):
            if char in "*?[":
                head = pattern[:i]
                break
        match = glob_escape(self.prefix + head) + "*"
        deleted = 0
        batch: list[bytes] = []
        async for raw in self.redis.scan_iter(match=match, count=self.scan_count):
            name = raw.decode() if isinstance(raw, bytes) else raw
            if fnmatch.fnmatchcase(name[len(self.prefix):], pattern):
                batch.append(raw)
            if len(batch) >= self.scan_count:
                deleted += await self._unlink_each(batch)
                batch = []
        if batch:
            deleted += await self._unlink_each(batch)
        return deleted

    async def incr(self, key: str) -> int:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._key(key))
            pipe.expire(self._key(key), COUNTER_TTL)
            value, _ = await pipe.execute()
        return int(value)

    async def invalidate(self, keys: Sequence[str], counters: Sequence[str],
                         publish: tuple[str, bytes] | None = None) -> None:
        """One pipelined round trip: INCR + EXPIRE per counter, UNLINK per key, then (for an
        in-process tier in front of this cache) PUBLISH ``publish = (channel, message)``.

        Not a MULTI: each command is atomic on its own and names one key (cluster-safe), and the
        order is kept (counters first, so a fill that raced this cannot store what it loaded
        before the change)."""
        if not keys and not counters and publish is None:
            return
        commands: list[tuple] = []
        for counter in counters:
            commands += (("INCRBY", self._key(counter), 1), ("EXPIRE", self._key(counter), COUNTER_TTL))
        commands += [("UNLINK", self._key(key)) for key in keys]
        if publish is not None:
            commands.append(("PUBLISH", *publish))
        await self.lean.call(commands)
