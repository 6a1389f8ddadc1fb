"""Token expiry is read from the clock port: a fake clock expires tokens, no sleeping."""
from __future__ import annotations

import pytest

from adapters.memory.infrastructure import InMemoryEventBus
from adapters.memory.store import MemoryStore
from adapters.memory.uow import MemoryUnitOfWorkFactory
from adapters.security import JwtTokens, ScryptHasher
from adapters.system import FakeClock, RandomIds
from application.auth import Auth
from application.errors import Unauthorized

SECRET = "s" * 40


def test_a_token_expires_when_the_clock_passes_its_exp():
    clock = FakeClock()
    tokens = JwtTokens(SECRET, access_ttl=60, clock=clock)
    token, ttl = tokens.issue({"sub": "usr_1"}, "access")
    assert ttl == 60 and tokens.decode(token, "access")["sub"] == "usr_1"
    clock.advance(59)
    assert tokens.decode(token, "access")["sub"] == "usr_1"
    clock.advance(1)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.decode(token, "access")


def test_a_remembered_verification_ends_with_the_token():
    clock = FakeClock()
    auth = Auth(MemoryUnitOfWorkFactory(MemoryStore(), InMemoryEventBus()), ScryptHasher(n=2**4),
                JwtTokens(SECRET, access_ttl=60, clock=clock), RandomIds(clock), clock)
    token, guest_id = auth.guest()
    assert auth.principal_from_token(token).id == guest_id
    clock.advance(59.5)
    assert auth.principal_from_token(token).id == guest_id  # served from the remembered verification
    clock.advance(1)
    with pytest.raises(Unauthorized, match="expired"):
        auth.principal_from_token(token)
