"""``CheckoutSessionStore`` on Redis: one JSON string per session, TTL reset on every save."""
from __future__ import annotations

import logging

from redis.asyncio import Redis

from adapters.redis.cache import ttl_ms
from adapters.redis.client import DEFAULT_PREFIX
from adapters.redis.codec import SessionDecodeError, decode_session, encode_session
from adapters.redis.lean import lean
from domain.checkout import CheckoutSession

log = logging.getLogger(__name__)


class RedisCheckoutSessionStore:
    """Checkout sessions at ``{prefix}checkout:session:{id}``.

    ``save`` writes the whole session with ``SET ... PX ttl``, so each save (every pricing step)
    refreshes the expiry, as the port promises; ``get`` does not extend it. Sessions live in
    Redis, so they survive an API restart and are shared by every API process. A stored value
    that cannot be decoded (corrupt, or written by an incompatible release) reads as expired
    and is logged: the customer restarts checkout rather than seeing a 500.
    Redis errors propagate: without the store there is no checkout to continue.
    """

    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix
        self.lean = lean(redis)  # every checkout step's read and write (adapters/redis/lean.py)

    def key(self, checkout_id: str) -> str:
        return f"{self.prefix}checkout:session:{checkout_id}"

    async def get(self, checkout_id: str) -> CheckoutSession | None:
        [raw] = await self.lean.call((("GET", self.key(checkout_id)),))
        if raw is None:
            return None
        try:
            return decode_session(raw)
        except SessionDecodeError:
            log.warning("unreadable checkout session %s treated as expired", checkout_id, exc_info=True)
            return None

    #: how a session is stored (``LocalFallbackSessions`` encodes once for this and its local copy)
    encode = staticmethod(encode_session)

    async def save(self, session: CheckoutSession, ttl: float) -> None:
        await self.save_encoded(session.id, encode_session(session), ttl)

    async def save_encoded(self, checkout_id: str, raw: bytes, ttl: float) -> None:
        """``save`` of a session already encoded by ``encode``."""
        if ttl <= 0:
            await self.delete(checkout_id)
            return
        await self.lean.call((("SET", self.key(checkout_id), raw, "PX", ttl_ms(ttl)),))

    async def delete(self, checkout_id: str) -> None:
        await self.lean.call((("UNLINK", self.key(checkout_id)),))
