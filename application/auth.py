"""Use cases: register, log in, guest tokens, refresh, who am I, change the password, bootstrap admin.

Tokens (issue 16):
- an access token names its user's role and token generation; a verification is remembered for
  at most ``token_recheck`` seconds, then the user is read again, so the token of a deleted or
  disabled user, of a demoted admin or from before a password change stops within that bound;
- refresh tokens rotate: each is a row of its login's family, used once; a second use (a stolen
  copy replayed, or the thief's copy after the owner's) revokes the whole family;
- guest tokens have no user to re-read and live ``tokens.guest_ttl`` (days: a guest comes back
  to its order after paying).
"""
from __future__ import annotations

import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta

from application.errors import AlreadyExists, NotFound, TokenRecheckDue, Unauthorized
from application.ports import Clock, IdGenerator, PasswordHasher, TokenIssuer
from application.ports.identity import IdentityUnitOfWork
from domain.errors import InvalidValue
from domain.sessions import RefreshToken
from domain.users import Principal, Role, User

log = logging.getLogger(__name__)
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
MIN_PASSWORD = 8
VERIFIED_TOKENS = 10_000
WRONG = "wrong email or password"


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InvalidValue("not a valid email address", field="email")
    return email


def principal_of(user: User) -> Principal:
    return Principal(user.id, user.role, user.email, user.name)


class Auth:
    def __init__(self, uow: Callable[[], IdentityUnitOfWork], hasher: PasswordHasher, tokens: TokenIssuer,
                 ids: IdGenerator, clock: Clock, token_recheck: float = 60.0) -> None:
        self.uow, self.hasher, self.tokens, self.ids, self.clock = uow, hasher, tokens, ids, clock
        self.token_recheck = token_recheck
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._monotonic = clock.monotonic  # kept: read on every authenticated request
        self._dummy_hash: str | None = None

    # -- accounts ------------------------------------------------------------------------------
    async def register(self, email: str, password: str, name: str, role: Role = Role.CUSTOMER) -> User:
        """A new account; AlreadyExists when the email is taken (see ``sign_up`` for the public door)."""
        email = normalise_email(email)
        if len(password) < MIN_PASSWORD:
            raise InvalidValue(f"the password needs at least {MIN_PASSWORD} characters", field="password")
        if not name.strip():
            raise InvalidValue("a name is required", field="name")
        password_hash = await self.hasher.hash(password)  # before the lookup: a taken email costs the same
        user = User(self.ids.new_id("usr"), email, name.strip(), password_hash, role, self.clock.now())
        async with self.uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user

    async def sign_up(self, email: str, password: str, name: str) -> User:
        """Registration through the API: a taken email gets the same answer as a new one (an account
        that is not stored, under a fresh id), so sign-up never says whether an email has an account."""
        try:
            return await self.register(email, password, name)
        except AlreadyExists:
            log.info("sign-up for an email that has an account; answered as if new")
            return User(self.ids.new_id("usr"), normalise_email(email), name.strip(), "", Role.CUSTOMER,
                        self.clock.now())

    async def login(self, email: str, password: str) -> dict:
        try:
            email = normalise_email(email)
        except InvalidValue:
            raise Unauthorized(WRONG) from None
        async with self.uow() as uow:
            user = await uow.users.get_by_email(email)
        ok = await self.hasher.verify(password, user.password_hash if user else await self._dummy())
        if user is None or not ok or user.disabled:
            raise Unauthorized(WRONG)
        if self.hasher.needs_rehash(user.password_hash):
            user = await self._rehash(user, password)
        return await self._pair(user)

    async def _dummy(self) -> str:
        """A hash of the hasher's own making, verified when the email is unknown: a miss costs what a
        wrong password costs."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    async def _rehash(self, user: User, password: str) -> User:
        """The password under today's parameters (an older scheme or cost), written unless the
        hash changed meanwhile (a password change wins)."""
        new_hash = await self.hasher.hash(password)  # slow: outside the transaction
        async with self.uow() as uow:
            current = await uow.users.lock(user.id)
            if current is None or current.password_hash != user.password_hash:
                return current or user
            current.rehash(new_hash)
            await uow.users.save(current)
            await uow.commit()
        return current

    def guest(self) -> tuple[str, str]:
        guest_id = self.ids.new_id("gst")
        token, _ = self.tokens.issue({"sub": guest_id, "role": Role.GUEST.value}, "access",
                                     ttl=self.tokens.guest_ttl)
        return token, guest_id

    async def me(self, principal: Principal) -> User:
        async with self.uow() as uow:
            user = await uow.users.get(principal.id)
        if user is None:
            raise NotFound("no such user")
        return user

    async def change_password(self, principal: Principal, old_password: str, new_password: str) -> dict:
        """The old password proves it is the owner; the refresh tokens of every other session are
        revoked (their generation is past) and this session gets a new pair. Access tokens already
        issued stop within the recheck bound."""
        if principal.is_guest:
            raise Unauthorized("guests have no password")
        if len(new_password) < MIN_PASSWORD:
            raise InvalidValue(f"the password needs at least {MIN_PASSWORD} characters", field="new_password")
        async with self.uow() as uow:
            user = await uow.users.get(principal.id)
        if user is None:
            raise NotFound("no such user")
        if not await self.hasher.verify(old_password, user.password_hash):
            raise InvalidValue("the old password is wrong", field="old_password")
        new_hash = await self.hasher.hash(new_password)  # slow: outside the transaction
        async with self.uow() as uow:
            user = await uow.users.lock(principal.id)
            if user is None:
                raise NotFound("no such user")
            user.change_password(new_hash)
            await uow.users.save(user)
            await uow.commit()
        return await self._pair(user)

    # -- tokens --------------------------------------------------------------------------------
    async def refresh(self, refresh_token: str) -> dict:
        """A new pair for a refresh token used for the first time; a token used before revokes its
        whole family (every session of that login signs in again)."""
        claims = self.tokens.decode(refresh_token, "refresh")
        now = self.clock.now()
        async with self.uow() as uow:
            row = await uow.refresh_tokens.lock(str(claims.get("jti", "")))
            if row is None or row.user_id != claims["sub"]:
                raise Unauthorized("this refresh token is not known; log in again")
            if not row.usable(now):
                if row.used_at is not None and not row.revoked:
                    await uow.refresh_tokens.revoke_family(row.family_id, now)
                    await uow.commit()
                    log.warning("a used refresh token was presented again: family %s of %s revoked",
                                row.family_id, row.user_id)
                raise Unauthorized("this refresh token was already used or revoked; log in again")
            user = await uow.users.get(row.user_id)
            if user is None or user.disabled or claims.get("gen", 0) != user.token_generation:
                await uow.refresh_tokens.revoke_family(row.family_id, now)
                await uow.commit()
                raise Unauthorized("the account no longer exists" if user is None
                                   else "this refresh token was revoked; log in again")
            row.use(now)
            await uow.refresh_tokens.save(row)
            pair = await self._pair(user, uow, family_id=row.family_id)
            await uow.commit()
        return pair

    async def _pair(self, user: User, uow: IdentityUnitOfWork | None = None, family_id: str | None = None) -> dict:
        """An access token and a refresh token (a new row of ``family_id``, or of a new family)."""
        claims = {"sub": user.id, "role": user.role.value, "email": user.email, "name": user.name,
                  "gen": user.token_generation}
        access, ttl = self.tokens.issue(claims, "access")
        now = self.clock.now()
        row = RefreshToken(self.ids.new_id("rtk"), family_id or self.ids.new_id("rtf"), user.id, now,
                           now + timedelta(seconds=self.tokens.ttl["refresh"]))
        refresh, _ = self.tokens.issue({"sub": user.id, "gen": user.token_generation, "jti": row.id}, "refresh")
        if uow is not None:
            await uow.refresh_tokens.add(row)
        else:
            async with self.uow() as own:
                await own.refresh_tokens.add(row)
                await own.commit()
        return {"access": access, "refresh": refresh, "token_type": "Bearer", "expires_in": ttl}

    def principal_from_token(self, token: str) -> Principal:
        """The caller an access token names, without awaiting: a remembered verification (bounded;
        the oldest verified go first; the signature check is most of an authenticated cache hit's
        cost), or a guest's token verified now. A user's token not remembered raises
        TokenRecheckDue: ``authenticate`` reads the user."""
        remembered = self._verified.get(token)
        if remembered is not None and remembered[1] > self._monotonic():
            return remembered[0]  # oldest-first eviction, not LRU: a hit costs one lookup
        principal, claims = self._decode(token)
        if not principal.is_guest:
            raise TokenRecheckDue(token)
        self._remember(token, principal, float(claims["exp"]) - self.clock.now().timestamp())
        return principal

    async def authenticate(self, token: str) -> Principal:
        """The caller an access token names, its user read now: refused when the user is gone or
        disabled, or the token names another role or an older generation. Remembered for
        ``token_recheck`` seconds at most."""
        try:
            return self.principal_from_token(token)
        except TokenRecheckDue:
            pass
        principal, claims = self._decode(token)
        async with self.uow() as uow:
            user = await uow.users.get(principal.id)
        if user is None or user.disabled:
            raise Unauthorized("the account of this token no longer signs in")
        if user.role is not principal.role or claims.get("gen", 0) != user.token_generation:
            raise Unauthorized("this token was revoked; log in again")
        left = float(claims["exp"]) - self.clock.now().timestamp()
        self._remember(token, principal, min(left, self.token_recheck))
        return principal

    def _decode(self, token: str) -> tuple[Principal, dict]:
        claims = self.tokens.decode(token, "access")
        try:
            role = Role(claims.get("role"))
        except ValueError:
            raise Unauthorized("the token is not valid") from None
        if not isinstance(claims["sub"], str):
            raise Unauthorized("the token is not valid")
        return Principal(claims["sub"], role, claims.get("email"), claims.get("name")), claims

    def _remember(self, token: str, principal: Principal, seconds: float) -> None:
        # remembered on the monotonic clock (a hit reads only that)
        self._verified[token] = (principal, self._monotonic() + seconds)
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)

    async def bootstrap_admin(self, spec: str) -> User | None:
        """``email:password`` -> an admin (created once; an existing account is left as it is)."""
        email, sep, password = spec.partition(":")
        if not sep:
            raise InvalidValue("PAYPORT_BOOTSTRAP_ADMIN must be email:password")
        try:
            return await self.register(email, password, "Administrator", Role.ADMIN)
        except AlreadyExists:
            return None
