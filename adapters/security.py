"""Password hashing (argon2id, OWASP's parameters; scrypt hashes of earlier releases still verify) and
JWTs (PyJWT, HS256 pinned)."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from typing import Any, Literal

import argon2
import jwt

from adapters.system import SystemClock
from application.errors import Unauthorized
from application.ports import Clock


class ScryptHasher:
    """``scrypt$n$r$p$salt$hash``: the hashes of earlier releases (``Argon2Hasher`` verifies them and
    rehashes at login). Cost is configurable; runs off the event loop."""

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

    def needs_rehash(self, encoded: str) -> bool:
        return not encoded.startswith(f"scrypt${self.n}${self.r}${self.p}$")


class Argon2Hasher:
    """argon2id via argon2-cffi, at OWASP's recommended minimum by default (19 MiB, 2 passes, one
    lane). Each encoded hash carries its own parameters (``$argon2id$v=19$m=..,t=..,p=..$salt$hash``),
    so raising them never breaks an older hash: ``needs_rehash`` says which to upgrade at the next
    successful login. Hashes of earlier releases (``scrypt$...``) still verify, and always need a
    rehash. Runs off the event loop."""

    def __init__(self, memory_kib: int = 19_456, time_cost: int = 2, parallelism: int = 1) -> None:
        self._argon2 = argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                             parallelism=parallelism, type=argon2.Type.ID)
        self._legacy = ScryptHasher()

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, password: str, encoded: str) -> bool:
        if encoded.startswith("scrypt$"):
            return await self._legacy.verify(password, encoded)
        try:
            return await asyncio.to_thread(self._argon2.verify, encoded, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError, ValueError, TypeError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        if not encoded.startswith("$argon2"):
            return True
        try:
            return self._argon2.check_needs_rehash(encoded)
        except (argon2.exceptions.InvalidHashError, ValueError):
            return True


class JwtTokens:
    """Access and refresh tokens. ``algorithms`` pinned to HS256; ``exp``, ``iat``, ``sub`` required.
    Issued and checked against the clock port (``exp`` is checked here, not by PyJWT's own clock)."""

    ALGORITHM = "HS256"

    def __init__(self, secret: str, access_ttl: int = 900, refresh_ttl: int = 7 * 86400,
                 issuer: str = "payport", clock: Clock | None = None, guest_ttl: int | None = None) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self.secret, self.issuer = secret, issuer
        self.ttl = {"access": access_ttl, "refresh": refresh_ttl}
        #: a guest's access token (no refresh token): long enough to pay and come back to the order
        self.guest_ttl = guest_ttl or access_ttl
        self.clock = clock or SystemClock()

    def issue(self, claims: dict[str, Any], kind: Literal["access", "refresh"],
              ttl: int | None = None) -> tuple[str, int]:
        """A signed token of ``kind`` living ``ttl`` seconds (default: the kind's); ``claims`` may
        name its ``jti`` (a refresh token's row), never its times, type or issuer."""
        now = int(self.clock.now().timestamp())
        ttl = ttl or self.ttl[kind]
        payload = {"jti": secrets.token_hex(8), **claims, "typ": kind, "iat": now, "exp": now + ttl,
                   "iss": self.issuer}
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
