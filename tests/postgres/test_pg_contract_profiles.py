"""Contract of the identity repository's profile fields (issue 18): phone, default address, the
token generation; locked reads and whole saves; on memory and Postgres."""
from __future__ import annotations

import pg_builders as b
from domain.places import Address


async def test_profiles_round_trip_and_saves_are_whole(backend):
    async with backend.uow() as uow:
        await uow.users.add(b.user())
        await uow.commit()
    async with backend.uow() as uow:
        user = await uow.users.lock("usr_1")
        assert (user.phone, user.default_address, user.token_generation) == (None, None, 0)
        user.revise_profile(name="Ada Obi", phone="+234 803 123 4567",
                            default_address=Address("ng", "Lagos", "1 Marina", None))
        user.change_password("new-hash")
        await uow.users.save(user)
        await uow.commit()
    async with backend.uow() as uow:
        user = await uow.users.get("usr_1")
        assert (user.name, user.phone, user.default_address, user.password_hash, user.token_generation) == (
            "Ada Obi", "+2348031234567", Address("NG", "Lagos", "1 Marina", None), "new-hash", 1)
        user.revise_profile(phone=None, default_address=None)
        await uow.users.save(user)
        await uow.commit()
    async with backend.uow() as uow:
        user = await uow.users.get("usr_1")
        assert (user.phone, user.default_address, user.name) == (None, None, "Ada Obi")
