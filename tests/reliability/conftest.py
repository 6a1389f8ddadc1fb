"""The reliability battery's fixtures: the fake gateway on a free loopback port, one shared
fake clock (the fake's and the adapters' time), and real adapters pointed at the fake."""
from __future__ import annotations

import aiohttp
import pytest
from dependency_injector import providers

import container as composition
from container import RATE_LIMITS
from entrypoints.http.app import create_app

from adapters.gateways.config import FlutterwaveSettings, HttpTimeouts, PaystackSettings, StripeSettings
from adapters.gateways.flutterwave import FlutterwaveGateway
from adapters.gateways.paystack import PaystackGateway
from adapters.gateways.stripe import StripeGateway
from adapters.system import FakeClock
from tests.e2e.api import Api
from tests.e2e.conftest import FAST, e2e_dsn, real_backends  # noqa: F401  (fixtures)
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


@pytest.fixture
def app_settings(request, backend) -> dict:
    """The whole service's settings on ``backend`` (a module's own fixture): no sandbox, the demo
    shop, rate limits out of the way (tested elsewhere)."""
    extra = request.getfixturevalue("real_backends") if backend == "postgres" else {}
    return {**FAST, **extra, "sandbox": "off", "demo_data": "on",
            "rate_limits": {policy: (1_000_000, 60) for policy in RATE_LIMITS}}


async def service(aiohttp_client, settings: dict, environ: dict, clock) -> Api:
    """The whole service with ``environ``'s gateways (pointed at the fake), on the shared fake clock."""
    built = composition.build_container(settings, environ=environ)
    built.core.clock.override(providers.Object(clock))
    return Api(await aiohttp_client(create_app(built)))
