"""Who is calling: the principal of a request's ``Authorization: Bearer`` header."""
from __future__ import annotations

import functools
from typing import Any, Literal

from aiohttp import web

from application.errors import TokenRecheckDue, Unauthorized
from domain.users import Principal

#: what a route asks of the caller: a valid token, a token if one is sent, or nothing (never read)
Auth = Literal["required", "optional", "none"]


def principal_of(request: web.Request, services: Any, mode: Auth) -> Principal | None:
    """The caller, without awaiting: raises TokenRecheckDue when the token's user must be read
    again (``caller`` does that)."""
    if mode == "none":
        return None
    header = request.headers.get("Authorization")
    if not header:
        if mode == "required":
            raise Unauthorized("send Authorization: Bearer <access token>")
        return None
    return services.auth.principal_from_token(bearer_token(header))


async def caller(request: web.Request, services: Any, mode: Auth) -> Principal | None:
    """The caller, its user read again when its remembered verification has run out."""
    try:
        return principal_of(request, services, mode)
    except TokenRecheckDue as due:
        return await services.auth.authenticate(due.token)


@functools.lru_cache(maxsize=4096)
def bearer_token(header: str) -> str:
    """The token of an ``Authorization: Bearer`` header (the scheme in any case, spaces around the
    token dropped); Unauthorized for any other. Remembered (bounded) by the header: a client sends
    the same one on every request, and the token it returns, one string object, keeps its hash."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token
