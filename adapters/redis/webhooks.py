"""Fast-path webhook dedup in Redis, in front of the inbox's unique (gateway, event_id) constraint."""
from __future__ import annotations

from typing import Literal

from redis.asyncio import Redis

from adapters.redis.cache import ttl_ms
from adapters.redis.client import DEFAULT_PREFIX
from adapters.redis.lean import lean

_CLAIMED, _STORED = b"claimed", b"stored"


class RedisWebhookDedup:
    """Remembers ``(gateway, event_id)`` pairs at ``{prefix}webhook:seen:{gateway}:{event_id}``.

    ``claim`` is one atomic ``SET NX PX``: exactly one of any number of concurrent deliveries of an
    event gets "new" (go on: store it in the inbox and process it). The others learn whether that
    first delivery is durably stored yet: "stored" (a duplicate: answer 2xx, do nothing) or
    "in_flight" (claimed, not yet in the inbox: the caller must answer so that the gateway retries,
    since the first delivery may still fail or its process may die). It is only a shortcut: the
    inbox's unique constraint stays the source of truth, and if Redis is down the caller skips
    this check and relies on the constraint.

    Protocol for the caller: ``claim`` -> "new" -> insert into the inbox -> ``confirm`` (the marker
    becomes "stored" for ``ttl``); if the insert fails, ``forget`` so the gateway's retry is not
    mistaken for a duplicate. A crash between ``claim`` and the inbox commit cannot call
    ``forget``: the claim then lapses after ``claim_ttl`` seconds, and until then every re-delivery
    is told to come back later, never acknowledged.
    """

    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX, ttl: float = 86400,
                 claim_ttl: float = 60) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
        self.claim_ttl = claim_ttl
        self.lean = lean(redis)  # every webhook's claim and release (adapters/redis/lean.py)

    def key(self, gateway: str, event_id: str) -> str:
        return f"{self.prefix}webhook:seen:{gateway}:{event_id}"

    async def claim(self, gateway: str, event_id: str) -> Literal["new", "in_flight", "stored"]:
        key = self.key(gateway, event_id)
        created, value = await self.lean.call((("SET", key, _CLAIMED, "NX", "PX", ttl_ms(self.claim_ttl)),
                                               ("GET", key)))
        if created:
            return "new"
        return "stored" if value == _STORED else "in_flight"

    async def confirm(self, gateway: str, event_id: str) -> None:
        """The event is durably in the inbox: remember it as stored for the full ``ttl``."""
        await self.lean.call((("SET", self.key(gateway, event_id), _STORED, "PX", ttl_ms(self.ttl)),))

    async def forget(self, gateway: str, event_id: str) -> None:
        """Drop the marker (the inbox insert failed): the next delivery is processed again."""
        await self.lean.call((("UNLINK", self.key(gateway, event_id)),))
