"""Use cases: register, log in, guest tokens, refresh, who am I, change the password, bootstrap admin."""
from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable

from application.errors import AlreadyExists, NotFound, Unauthorized
from application.ports import Clock, IdGenerator, PasswordHasher, TokenIssuer
from application.ports.identity import IdentityUnitOfWork
from domain.errors import InvalidValue
from domain.users import Principal, Role, User

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
MIN_PASSWORD = 8
VERIFIED_TOKENS = 10_000
#: Verified against when the email is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InvalidValue("not a valid email address", field="email")
    return email


def principal_of(user: User) -> Principal:
    return Principal(user.id, user.role, user.email, user.name)


class Auth:
    def __init__(self, uow: Callable[[], IdentityUnitOfWork], hasher: PasswordHasher, tokens: TokenIssuer,
                 ids: IdGenerator, clock: Clock) -> None:
        self.uow, self.hasher, self.tokens, self.ids, self.clock = uow, hasher, tokens, ids, clock
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._monotonic = clock.monotonic  # kept: read on every authenticated request

    async def register(self, email: str, password: str, name: str, role: Role = Role.CUSTOMER) -> User:
        email = normalise_email(email)
        if len(password) < MIN_PASSWORD:
            raise InvalidValue(f"the password needs at least {MIN_PASSWORD} characters", field="password")
        if not name.strip():
            raise InvalidValue("a name is required", field="name")
        password_hash = await self.hasher.hash(password)
        user = User(self.ids.new_id("usr"), email, name.strip(), password_hash, role, self.clock.now())
        async with self.uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user

    async def login(self, email: str, password: str) -> dict:
        try:
            email = normalise_email(email)
        except InvalidValue:
            raise Unauthorized("wrong email or password") from None
        async with self.uow() as uow:
            user = await uow.users.get_by_email(email)
        ok = await self.hasher.verify(password, user.password_hash if user else _DUMMY_HASH)
        if user is None or not ok:
            raise Unauthorized("wrong email or password")
        return self._pair(user)

    def guest(self) -> tuple[str, str]:
        guest_id = self.ids.new_id("gst")
        token, _ = self.tokens.issue({"sub": guest_id, "role": Role.GUEST.value}, "access")
        return token, guest_id

    async def refresh(self, refresh_token: str) -> dict:
        claims = self.tokens.decode(refresh_token, "refresh")
        async with self.uow() as uow:
            user = await uow.users.get(claims["sub"])
        if user is None:
            raise Unauthorized("the account no longer exists")
        if claims.get("gen", 0) != user.token_generation:  # issued before the password last changed
            raise Unauthorized("this refresh token was revoked; log in again")
        return self._pair(user)

    async def me(self, principal: Principal) -> User:
        async with self.uow() as uow:
            user = await uow.users.get(principal.id)
        if user is None:
            raise NotFound("no such user")
        return user

    async def change_password(self, principal: Principal, old_password: str, new_password: str) -> dict:
        """The old password proves it is the owner; the refresh tokens of every other session are
        revoked (their generation is past) and this session gets a new pair. Access tokens already
        issued run out on their own (they are short-lived)."""
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
        return self._pair(user)

    def principal_from_token(self, token: str) -> Principal:
        """The caller an access token names. A token verified once is remembered until it expires
        (bounded; the oldest verified go first): the signature check is most of an authenticated
        cache hit's cost."""
        remembered = self._verified.get(token)
        if remembered is not None and remembered[1] > self._monotonic():
            return remembered[0]  # oldest-first eviction, not LRU: a hit costs one lookup
        claims = self.tokens.decode(token, "access")
        try:
            role = Role(claims.get("role"))
        except ValueError:
            raise Unauthorized("the token is not valid") from None
        principal = Principal(claims["sub"], role, claims.get("email"), claims.get("name"))
        # remembered until its exp, measured on the monotonic clock (a hit reads only that)
        deadline = self._monotonic() + (float(claims["exp"]) - self.clock.now().timestamp())
        self._verified[token] = (principal, deadline)
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return principal

    def _pair(self, user: User) -> dict:
        claims = {"sub": user.id, "role": user.role.value, "email": user.email, "name": user.name}
        access, ttl = self.tokens.issue(claims, "access")
        refresh, _ = self.tokens.issue({"sub": user.id, "gen": user.token_generation}, "refresh")
        return {"access": access, "refresh": refresh, "token_type": "Bearer", "expires_in": ttl}

    async def bootstrap_admin(self, spec: str) -> User | None:
        """``email:password`` -> an admin (created once; an existing account is left as it is)."""
        email, sep, password = spec.partition(":")
        if not sep:
            raise InvalidValue("PAYPORT_BOOTSTRAP_ADMIN must be email:password")
        try:
            return await self.register(email, password, "Administrator", Role.ADMIN)
        except AlreadyExists:
            return None
