"""Rate limits: a route's policies, each counted per caller (the user or guest, else the client's IP)
or, for a policy named ``..._ip``, per client IP whoever calls (fresh guest tokens from one address
share that address's allowance). ``X-Forwarded-For`` is believed only from PAYPORT_TRUSTED_PROXIES."""
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


def subject_of(policy: str, request: web.Request, principal: Any, trusted: list[str]) -> str:
    """Who a hit of ``policy`` is counted against."""
    if principal is not None and not policy.endswith("_ip"):
        return principal.id
    return "ip:" + client_ip(request, trusted)


async def check_rates(services: Any, policies: tuple[str, ...], request: web.Request, principal: Any) -> dict[str, str]:
    """Count a hit of every policy, in one round trip to the limiter (a hit refused by one policy
    still counts against the others: the attempt was made); RateLimited for the first one over, in
    the route's order; else the headers of the one with the least left."""
    if len(policies) == 1:
        return await check_rate(services, policies[0],
                                subject_of(policies[0], request, principal, services.trusted_proxies))
    hits = [(f"{policy}:{subject_of(policy, request, principal, services.trusted_proxies)}",
             *services.rate_limits[policy]) for policy in policies]
    results = await services.rate_limiter.hit_all(hits)
    best: dict[str, str] = {}
    for policy, result in zip(policies, results, strict=True):
        headers = _judged(services, policy, result)
        if not best or int(headers["RateLimit-Remaining"]) < int(best["RateLimit-Remaining"]):
            best = headers
    return best


async def check_rate(services: Any, policy: str, subject: str) -> dict[str, str]:
    """Count a hit; raise RateLimited when over. Returns the RateLimit-* headers to send."""
    limit, window = services.rate_limits[policy]
    return _judged(services, policy, await services.rate_limiter.hit(f"{policy}:{subject}", limit, window))


def _judged(services: Any, policy: str, result) -> dict[str, str]:
    """The RateLimit-* headers of ``result``; RateLimited (carrying them) when it was refused."""
    limit, window = services.rate_limits[policy]
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
