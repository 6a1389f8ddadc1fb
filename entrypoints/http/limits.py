"""Rate limits: a route's policy counted per caller (the user, else the client's IP)."""
from __future__ import annotations

import ipaddress
from typing import Any

from aiohttp import web

from application.errors import RateLimited


def client_ip(request: web.Request, trusted: list[str]) -> str:
    remote = request.remote or "unknown"
    if not trusted or remote not in trusted:
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):  # the first hop, from the right, that is not one of our proxies
        if hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote
    return remote


async def check_rate(services: Any, policy: str, subject: str) -> dict[str, str]:
    """Count a hit; raise RateLimited when over. Returns the RateLimit-* headers to send."""
    limit, window = services.rate_limits[policy]
    result = await services.rate_limiter.hit(f"{policy}:{subject}", limit, window)
    reset = str(max(0, int(result.reset_after + 0.999)))
    headers = {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(result.remaining), "RateLimit-Reset": reset,
               "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(result.remaining),
               "X-RateLimit-Reset": reset}
    if not result.allowed:
        services.metrics.rate_limited.labels(policy).inc()
        exc = RateLimited(f"rate limit of {limit} per {window}s reached for {policy}",
                          retry_after=result.retry_after, limit=limit)
        exc.headers = headers
        raise exc
    return headers
