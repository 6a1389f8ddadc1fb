"""Fast-path webhook dedup in Redis, in front of the inbox's unique (gateway, event_id) constraint."""
from __future__ import annotations

from redis.asyncio import Redis

from adapters.redis.cache import ttl_ms
from adapters.redis.client import DEFAULT_PREFIX


class RedisWebhookDedup:
    """Remembers ``(gateway, event_id)`` pairs at ``{prefix}webhook:seen:{gateway}:{event_id}``.

    ``seen`` is one atomic ``SET NX PX``: exactly one of any number of concurrent deliveries of
    an event gets False (go on: store it in the inbox and process it); the others get True (answer
    2xx, do nothing). It is only a shortcut: the inbox's unique constraint stays the source of
    truth, and if Redis is down the caller skips this check and relies on the constraint.

    Protocol for the caller: ``seen`` -> False -> insert into the inbox; if that fails, ``forget``
    so the gateway's retry is not mistaken for a duplicate. A process crash between ``seen`` and
    the inbox commit cannot call ``forget``; to bound that window pass ``claim_ttl`` (e.g. 60 s):
    ``seen`` then holds the marker only ``claim_ttl`` seconds and ``confirm`` (after the inbox
    commit) extends it to ``ttl``. Without ``claim_ttl``, ``seen`` holds it ``ttl`` at once.
    """

    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX, ttl: float = 86400,
                 claim_ttl: float | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
        self.claim_ttl = claim_ttl

    def key(self, gateway: str, event_id: str) -> str:
        return f"{self.prefix}webhook:seen:{gateway}:{event_id}"

    async def seen(self, gateway: str, event_id: str) -> bool:
        """True if this event was already claimed (a duplicate); False claims it for the caller."""
        hold = self.claim_ttl if self.claim_ttl is not None else self.ttl
        created = await self.redis.set(self.key(gateway, event_id), b"1", nx=True, px=ttl_ms(hold))
        return not created

    async def confirm(self, gateway: str, event_id: str) -> None:
        """The event is durably in the inbox: remember it for the full ``ttl``."""
        await self.redis.set(self.key(gateway, event_id), b"1", px=ttl_ms(self.ttl))

    async def forget(self, gateway: str, event_id: str) -> None:
        """Drop the marker (the inbox insert failed): the next delivery is processed again."""
        await self.redis.delete(self.key(gateway, event_id))
