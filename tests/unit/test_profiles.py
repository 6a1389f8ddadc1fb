"""Profiles and password changes on the memory adapters: the fields, clearing them, the old password
required, and the refresh tokens of other sessions revoked."""
from __future__ import annotations

import pytest

from adapters.security import JwtTokens, ScryptHasher
from application.auth import Auth
from application.errors import Unauthorized
from application.profiles import Profiles
from domain.errors import InvalidValue
from domain.places import Address
from domain.users import Principal, Role
from tests.unit.storefront_support import GUEST, World

SECRET = "s" * 40


@pytest.fixture
async def world():
    w = World.make()
    w.auth = Auth(w.uow, ScryptHasher(n=2**10), JwtTokens(SECRET, clock=w.clock), w.ids, w.clock)
    user = await w.auth.register("ada@example.com", "first-password", "Ada")
    w.principal = Principal(user.id, Role.CUSTOMER, user.email, user.name)
    return w


async def test_a_profile_is_changed_field_by_field_and_cleared_with_none(world):
    profiles = Profiles(world.uow)
    user = await profiles.update(world.principal, phone="+234 (803) 123-4567",
                                 default_address=Address("ng", " Lagos ", "1 Marina", ""))
    assert (user.name, user.phone, user.default_address) == ("Ada", "+2348031234567",
                                                             Address("NG", "Lagos", "1 Marina", None))
    user = await profiles.update(world.principal, name=" Ada Obi ")
    assert (user.name, user.phone) == ("Ada Obi", "+2348031234567")
    user = await profiles.update(world.principal, phone=None, default_address=None)
    assert (user.phone, user.default_address) == (None, None)
    assert (await world.auth.me(world.principal)).name == "Ada Obi"


@pytest.mark.parametrize("change", [{"name": " "}, {"phone": "0803 123 4567"}, {"phone": "+0123456789"},
                                    {"default_address": Address("Nigeria", "Lagos", "1 Marina")},
                                    {"default_address": Address("NG", "", "1 Marina")}])
async def test_bad_profile_values_are_refused_and_change_nothing(world, change):
    profiles = Profiles(world.uow)
    with pytest.raises(InvalidValue):
        await profiles.update(world.principal, **change)
    user = await world.auth.me(world.principal)
    assert (user.name, user.phone, user.default_address) == ("Ada", None, None)


async def test_guests_have_no_profile(world):
    with pytest.raises(Unauthorized):
        await Profiles(world.uow).update(GUEST, name="Guest")
    with pytest.raises(Unauthorized):
        await world.auth.change_password(GUEST, "x", "new-password-2")


async def test_changing_the_password_needs_the_old_one_and_revokes_other_refresh_tokens(world):
    other_session = await world.auth.login("ada@example.com", "first-password")
    with pytest.raises(InvalidValue) as caught:
        await world.auth.change_password(world.principal, "wrong-password", "second-password")
    assert caught.value.details == {"field": "old_password"}
    with pytest.raises(InvalidValue):
        await world.auth.change_password(world.principal, "first-password", "short")
    assert (await world.auth.refresh(other_session["refresh"]))["access"]  # still valid: nothing changed yet
    this_session = await world.auth.change_password(world.principal, "first-password", "second-password")
    with pytest.raises(Unauthorized, match="revoked"):
        await world.auth.refresh(other_session["refresh"])
    renewed = await world.auth.refresh(this_session["refresh"])  # the pair it got carries the new generation
    assert await world.auth.refresh(renewed["refresh"])
    with pytest.raises(Unauthorized):
        await world.auth.login("ada@example.com", "first-password")
    assert await world.auth.login("ada@example.com", "second-password")
