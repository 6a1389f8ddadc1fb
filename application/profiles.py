"""Use cases: changing a user's own profile (name, phone, default address); reading it is ``Auth.me``,
the password ``Auth.change_password``."""
from __future__ import annotations

from collections.abc import Callable

from application.errors import NotFound, Unauthorized
from application.ports.identity import IdentityUnitOfWork
from domain.places import Address
from domain.users import KEEP, Principal, User, Keep


class Profiles:
    def __init__(self, uow: Callable[[], IdentityUnitOfWork]) -> None:
        self.uow = uow

    async def update(self, principal: Principal, *, name: str | Keep = KEEP, phone: str | None | Keep = KEEP,
                     default_address: Address | None | Keep = KEEP) -> User:
        """Change what is given (``KEEP`` leaves a field, None clears the phone or the address).
        The row is locked: a password changed meanwhile is never written back over."""
        if principal.is_guest:
            raise Unauthorized("guests have no profile; register to keep one")
        async with self.uow() as uow:
            user = await uow.users.lock(principal.id)
            if user is None:
                raise NotFound("no such user")
            user.revise_profile(name=name, phone=phone, default_address=default_address)
            await uow.users.save(user)
            await uow.commit()
        return user
