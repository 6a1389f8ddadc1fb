"""Password hashes: argon2id with its parameters stored in each hash; older hashes verify and ask
for a rehash."""
from __future__ import annotations

import pytest

from adapters.security import Argon2Hasher, ScryptHasher

CHEAP = {"memory_kib": 64, "time_cost": 1}


async def test_argon2id_round_trip_and_parameters_travel_with_the_hash():
    hasher = Argon2Hasher(**CHEAP)
    encoded = await hasher.hash("correct horse battery")
    assert encoded.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert await hasher.verify("correct horse battery", encoded)
    assert not await hasher.verify("correct horse batterY", encoded)
    assert not hasher.needs_rehash(encoded)
    stronger = Argon2Hasher(memory_kib=128, time_cost=2)
    assert await stronger.verify("correct horse battery", encoded)  # old parameters still verify
    assert stronger.needs_rehash(encoded)


def test_the_default_parameters_are_owasps():
    encoded_params = Argon2Hasher()._argon2
    assert (encoded_params.memory_cost, encoded_params.time_cost, encoded_params.parallelism) == (19_456, 2, 1)


async def test_an_earlier_releases_scrypt_hash_verifies_and_needs_a_rehash():
    legacy = await ScryptHasher(n=2**4).hash("correct horse battery")
    hasher = Argon2Hasher(**CHEAP)
    assert await hasher.verify("correct horse battery", legacy)
    assert not await hasher.verify("wrong", legacy)
    assert hasher.needs_rehash(legacy)


@pytest.mark.parametrize("garbage", ["", "$argon2id$v=19$m=64,t=1,p=1$short", "scrypt$x", "plain"])
async def test_a_malformed_hash_never_verifies_nor_raises(garbage):
    hasher = Argon2Hasher(**CHEAP)
    assert not await hasher.verify("anything", garbage)
    assert hasher.needs_rehash(garbage)
