"""Password hashing (scrypt, a memory-hard KDF from the standard library) and JWTs (PyJWT, HS256 pinned)."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from typing import Any, Literal

import jwt

from adapters.system import SystemClock
from application.errors import Unauthorized
from application.ports import Clock


class ScryptHasher:
    """``scrypt$n$r$p$salt$hash``. Cost is configurable (tests use a low ``n``); runs off the event loop."""

    def __init__(self, n: int = 2**14, r: int = 8, p: int = 1) -> None:
        self.n, self.r, self.p = n, r, p

    @staticmethod
    def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=2**27)

    async def hash(self, password: str) -> str:
        salt = secrets.token_bytes(16)
        digest = await asyncio.to_thread(self._derive, password, salt, self.n, self.r, self.p)
        b64 = base64.b64encode
        return f"scrypt${self.n}${self.r}${self.p}${b64(salt).decode()}${b64(digest).decode()}"

    async def verify(self, password: str, encoded: str) -> bool:
        try:
            scheme, n, r, p, salt, digest = encoded.split("$")
            if scheme != "scrypt":
                return False
            expected = base64.b64decode(digest)
            actual = await asyncio.to_thread(self._derive, password, base64.b64decode(salt), int(n), int(r), int(p))
        except (ValueError, TypeError):
            return False
        return hmac.compare_digest(expected, actual)


class JwtTokens:
    """Access and refresh tokens. ``algorithms`` pinned to HS256; ``exp``, ``iat``, ``sub`` required.
    Issued and checked against the clock port (``exp`` is checked here, not by PyJWT's own clock)."""

    ALGORITHM = "HS256"

    def __init__(self, secret: str, access_ttl: int = 900, refresh_ttl: int = 7 * 86400,
                 issuer: str = "payport", clock: Clock | None = None) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self.secret, self.issuer = secret, issuer
        self.ttl = {"access": access_ttl, "refresh": refresh_ttl}
        self.clock = clock or SystemClock()

    def issue(self, claims: dict[str, Any], kind: Literal["access", "refresh"]) -> tuple[str, int]:
        now = int(self.clock.now().timestamp())
        ttl = self.ttl[kind]
        payload = {**claims, "typ": kind, "iat": now, "exp": now + ttl, "iss": self.issuer,
                   "jti": secrets.token_hex(8)}
        return jwt.encode(payload, self.secret, algorithm=self.ALGORITHM), ttl

    def decode(self, token: str, kind: Literal["access", "refresh"]) -> dict[str, Any]:
        try:
            claims = jwt.decode(token, self.secret, algorithms=[self.ALGORITHM], issuer=self.issuer,
                                options={"require": ["exp", "iat", "sub", "typ"], "verify_exp": False,
                                         "verify_iat": False})
        except jwt.PyJWTError:
            raise Unauthorized("the token is not valid") from None
        exp, iat = claims["exp"], claims["iat"]
        if type(exp) not in (int, float) or type(iat) not in (int, float):
            raise Unauthorized("the token is not valid")
        if exp <= self.clock.now().timestamp():
            raise Unauthorized("the token has expired")
        if claims.get("typ") != kind:
            raise Unauthorized(f"an {kind} token is required")
        return claims
