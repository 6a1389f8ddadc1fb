"""The Redis Streams event bus through a Redis outage: the consumer loop retries with backoff and
publishing fails (the outbox relay keeps the events), each logged once when the outage starts and
once when it ends, with a counter and no traceback per retry or per event. The bus reaches the
shared Redis through a proxy the test cuts; the server itself is never touched."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest

from adapters.metrics import Metrics
from adapters.redis import RedisStreamsEventBus
from application.errors import DependencyUnavailable
from domain.events import OrderCreated
from tests.outage_proxy import CuttableProxy
from tests.redis.conftest import REDIS_URL
from tests.redis.test_redis_streams_bus import FAST, order_created, wait_for

pytestmark = pytest.mark.redis
PUBLISHES = 30


def messages(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


@pytest.fixture
async def proxy():
    url = urlsplit(REDIS_URL)
    cut = CuttableProxy(url.port or 6379, url.hostname or "127.0.0.1")
    await cut.start()
    yield cut
    await cut.close()


async def test_a_redis_outage_is_one_line_per_transition_for_the_bus(client_factory, prefix, proxy, caplog):
    caplog.set_level(logging.INFO)
    db = urlsplit(REDIS_URL).path or "/0"
    client = await client_factory(f"redis://127.0.0.1:{proxy.port}{db}", socket_timeout=0.5, connect_timeout=0.5)
    metrics = Metrics()
    bus = RedisStreamsEventBus(client, prefix, group="outage", consumer="api-1", metrics=metrics, **FAST)
    got: list[str] = []

    async def record(event) -> None:
        got.append(event.order_id)
    bus.subscribe(OrderCreated, record)
    await bus.start()
    try:
        await bus.publish(order_created(1))
        await wait_for(lambda: got == ["ord_1"])
        await proxy.cut()
        for n in range(PUBLISHES):  # every publish fails the same way: the relay keeps them
            with pytest.raises(DependencyUnavailable):
                await bus.publish(order_created(100 + n))
        reader = "redis (event consumer api-1)"
        await wait_for(lambda: bus.outages.failures(reader) >= 4, timeout=10)  # retries with backoff
        await proxy.restore()
        await bus.publish(order_created(2))
        await wait_for(lambda: "ord_2" in got, timeout=15)
        await wait_for(lambda: not bus.outages.is_down(reader), timeout=5)
    finally:
        await bus.stop()
    for dependency in ("redis (event bus)", "redis (event consumer api-1)"):
        assert len(messages(caplog, f"dependency down: {dependency}")) == 1, caplog.text
        assert len(messages(caplog, f"dependency back: {dependency}")) == 1, caplog.text
    (published_back,) = messages(caplog, "dependency back: redis (event bus)")
    assert f"and {PUBLISHES} failures" in published_back
    assert [r.getMessage() for r in caplog.records if r.exc_info] == [] and "Traceback" not in caplog.text
    for dependency in ("redis (event bus)", "redis (event consumer api-1)"):
        assert metrics.registry.get_sample_value("payport_dependency_outages_total", {"dependency": dependency}) == 1
