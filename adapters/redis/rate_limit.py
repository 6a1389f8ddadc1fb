"""``RateLimiter`` on Redis: GCRA in one Lua script, timed by the Redis server's clock."""
from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from adapters.redis.client import DEFAULT_PREFIX
from adapters.redis.lean import lean
from application.ports import RateLimitResult

GCRA_SCRIPT = files("adapters.redis").joinpath("gcra.lua").read_text()
_US = 1_000_000


class RedisRateLimiter:
    """GCRA (generic cell rate algorithm) with the result semantics of ``MemoryRateLimiter``.

    One key per limited subject, ``{prefix}ratelimit:{key}``, holding the theoretical arrival
    time; it expires as soon as the subject is back to a full allowance. The script counts in
    integer microseconds (the emission interval rounded down), so unlike float epoch seconds no
    rounding ever refuses the last hit of a burst. The whole decision
    (read, compare, write) is one Lua script, so concurrent hits from any number of processes
    are serialised by Redis and exactly ``limit`` pass in a burst. Time comes from Redis
    ``TIME`` inside the script, so API hosts with skewed clocks agree. The script is registered
    once (``EVALSHA``, reloaded automatically after a Redis restart). Errors propagate: wrap in
    ``FailOpenRateLimiter``.
    """

    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(GCRA_SCRIPT)
        self.lean = lean(redis)  # every request's limits (adapters/redis/lean.py)

    def key(self, key: str) -> str:
        return f"{self.prefix}ratelimit:{key}"

    async def hit(self, key: str, limit: int, window: float) -> RateLimitResult:
        window_us = _window_us(limit, window)
        [answer] = await self.lean.call((("EVALSHA", self._script.sha, 1, self.key(key), limit, window_us),),
                                        raise_on_error=False)
        if isinstance(answer, NoScriptError):  # not counted: sent again with the script (redis-py loads it)
            answer = await self._script(keys=[self.key(key)], args=[limit, window_us])
        elif isinstance(answer, Exception):
            raise answer
        return _result(limit, *answer)

    async def hit_all(self, hits: Sequence[tuple[str, int, float]]) -> list[RateLimitResult]:
        """Every hit counted, in one pipelined round trip of ``EVALSHA`` s (each names one key: no
        command spans hash slots). A hit Redis answers ``NOSCRIPT`` (restarted, flushed) was not
        counted: it is sent again through ``hit``, which loads the script."""
        windows = [_window_us(limit, window) for _key, limit, window in hits]
        answers = await self.lean.call([("EVALSHA", self._script.sha, 1, self.key(key), limit, window_us)
                                        for (key, limit, _window), window_us in zip(hits, windows, strict=True)],
                                       raise_on_error=False)
        results = []
        for (key, limit, window), answer in zip(hits, answers, strict=True):
            if isinstance(answer, NoScriptError):
                results.append(await self.hit(key, limit, window))
            elif isinstance(answer, Exception):
                raise answer
            else:
                results.append(_result(limit, *answer))
        return results


def _window_us(limit: int, window: float) -> int:
    window_us = round(window * _US)
    if limit < 1 or window_us < limit:
        raise ValueError(f"a rate limit needs limit >= 1 and window >= limit microseconds, got {limit}/{window}")
    return window_us


def _result(limit: int, allowed, remaining, reset_us, retry_us) -> RateLimitResult:
    return RateLimitResult(allowed=bool(allowed), limit=limit, remaining=int(remaining),
                           reset_after=int(reset_us) / _US, retry_after=int(retry_us) / _US)
