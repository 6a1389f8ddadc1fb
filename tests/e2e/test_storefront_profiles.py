"""Profiles over HTTP, on both backends: GET|PATCH /auth/me (name, phone, default address; null
clears), change the password (the old one required; other sessions' refresh tokens revoked)."""
from __future__ import annotations

BACKENDS = ("memory", "postgres")
API = "/api/v1/auth"
LOGIN = {"email": "ada@example.com", "password": "correct horse battery"}


async def _session(api) -> dict:
    return await api.json("POST", f"{API}/login", json=LOGIN, expect=200)


async def test_a_profile_is_read_changed_and_cleared(api):
    h = await api.user("Ada", email=LOGIN["email"])
    me = await api.json("GET", f"{API}/me", h, expect=200)
    assert (me["name"], me["phone"], me["default_address"], me["role"]) == ("Ada", None, None, "customer")
    changed = await api.json("PATCH", f"{API}/me", h, expect=200, json={
        "phone": "+234 803 123 4567", "default_address": {"country": "ng", "city": "Lagos", "line1": "1 Marina"}})
    assert (changed["name"], changed["phone"]) == ("Ada", "+2348031234567")
    assert changed["default_address"] == {"country": "NG", "city": "Lagos", "line1": "1 Marina", "postal_code": None}
    renamed = await api.json("PATCH", f"{API}/me", h, json={"name": "Ada Obi"}, expect=200)
    assert (renamed["name"], renamed["phone"]) == ("Ada Obi", "+2348031234567")
    cleared = await api.json("PATCH", f"{API}/me", h, json={"phone": None, "default_address": None}, expect=200)
    assert (cleared["phone"], cleared["default_address"], cleared["name"]) == (None, None, "Ada Obi")
    guest = await api.guest()
    assert (await api.json("GET", f"{API}/me", guest, expect=200))["phone"] is None
    await api.json("PATCH", f"{API}/me", guest, json={"name": "Guest"}, expect=401)


async def test_bad_profile_changes_are_refused_and_change_nothing(api):
    h = await api.user("Ada", email=LOGIN["email"])
    for body, status in (({"phone": "0803 123 4567"}, 422), ({"name": None}, 422), ({"name": ""}, 422),
                         ({"email": "other@example.com"}, 422), ({"role": "admin"}, 422),
                         ({"default_address": {"country": "Nigeria", "city": "L", "line1": "1"}}, 422),
                         ({"default_address": {"country": "NG", "city": "", "line1": "1"}}, 422)):
        await api.json("PATCH", f"{API}/me", h, json=body, expect=status)
    me = await api.json("GET", f"{API}/me", h, expect=200)
    assert (me["name"], me["phone"], me["default_address"], me["role"]) == ("Ada", None, None, "customer")
    await api.json("PATCH", f"{API}/me", json={"name": "x"}, expect=401)


async def test_changing_the_password_revokes_the_other_sessions_refresh_tokens(api):
    await api.user("Ada", email=LOGIN["email"])
    this, other = await _session(api), await _session(api)
    h = {"Authorization": f"Bearer {this['access']}"}
    wrong = await api.json("POST", f"{API}/change-password", h, expect=422,
                           json={"old_password": "not it", "new_password": "a new long password"})
    assert wrong["errors"][0]["field"] == "old_password"
    await api.json("POST", f"{API}/change-password", h, json={"old_password": LOGIN["password"], "new_password": "short"},
                   expect=422)
    fresh = await api.json("POST", f"{API}/change-password", h, expect=200,
                           json={"old_password": LOGIN["password"], "new_password": "a new long password"})
    revoked = await api.json("POST", f"{API}/token/refresh", json={"refresh": other["refresh"]}, expect=401)
    assert "revoked" in revoked["detail"]
    await api.json("POST", f"{API}/token/refresh", json={"refresh": this["refresh"]}, expect=401)  # older too
    assert (await api.json("POST", f"{API}/token/refresh", json={"refresh": fresh["refresh"]}, expect=200))["access"]
    await api.json("POST", f"{API}/login", json=LOGIN, expect=401)
    await api.json("POST", f"{API}/login", json={**LOGIN, "password": "a new long password"}, expect=200)
