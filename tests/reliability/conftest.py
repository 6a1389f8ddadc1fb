"""The reliability battery's fixtures: the fake gateway on a free loopback port, one shared
fake clock (the fake's and the adapters' time), and real adapters pointed at the fake."""
from __future__ import annotations

import aiohttp
import pytest

from adapters.gateways.config import FlutterwaveSettings, HttpTimeouts, PaystackSettings, StripeSettings
from adapters.gateways.flutterwave import FlutterwaveGateway
from adapters.gateways.paystack import PaystackGateway
from adapters.gateways.stripe import StripeGateway
from adapters.system import FakeClock
from tests.reliability.fake_gateway import FakeGateway, start

#: Short deadlines so that every timeout fault costs a fraction of a second.
DEADLINE = HttpTimeouts(connect=0.5, total=0.6)
FLW_HASH = "flw_fake_hash"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(clock):
    gateway = FakeGateway(clock)
    runner = await start(gateway)
    yield gateway
    await runner.cleanup()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def stripe(session, fake, clock) -> StripeGateway:
    return StripeGateway(session, StripeSettings(secret_key="sk_test_fake", webhook_secret="whsec_fake",
                                                 base_url=fake.url("stripe"), timeouts=DEADLINE,
                                                 currencies=frozenset({"USD"})), clock=clock)


@pytest.fixture
def flutterwave(session, fake, clock) -> FlutterwaveGateway:
    return FlutterwaveGateway(session, FlutterwaveSettings(secret_key="FLWSECK_TEST-fake", secret_hash=FLW_HASH,
                                                           base_url=fake.url("flutterwave"), timeouts=DEADLINE,
                                                           max_retry_attempt=3), clock=clock)


@pytest.fixture
def paystack(session, fake, clock) -> PaystackGateway:
    return PaystackGateway(session, PaystackSettings(secret_key=fake.paystack.secret_key,
                                                     base_url=fake.url("paystack"), timeouts=DEADLINE), clock=clock)
