"""Merchant webhooks against a real receiver on loopback that verifies them with the
``standardwebhooks`` library: outages and the retry schedule (a fake clock, no sleeps), slow
answers, 410 Gone, secret rotation, a worker restart mid-schedule, and the SSRF guard."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks

from adapters.memory.deliveries import MemoryDeliveryQueue
from adapters.memory.merchant_webhooks import ENDPOINTS, MemoryEndpoints
from adapters.memory.store import MemoryStore
from adapters.memory.uow import MemoryUnitOfWorkFactory
from adapters.memory.infrastructure import InMemoryEventBus
from adapters.system import FakeClock, RandomIds
from adapters.webhook_delivery import UnsafeAddress, WebhookHttpClient, address_refused, check_url
from application.deliveries import DeliveryDispatcher
from application.merchant_webhooks import CHANNEL, MerchantWebhookEvents, MerchantWebhookSender
from application.ports.deliveries import DeliveryStatus
from domain import merchant_webhooks as mw
from domain.events import PaymentCompleted
from tests.reliability.fake_merchant import Receiver


class World:
    def __init__(self, allow_private: bool = True, timeout: float = 0.5) -> None:
        self.clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
        self.store = MemoryStore()
        self.uow = MemoryUnitOfWorkFactory(self.store, InMemoryEventBus())
        MerchantWebhookEvents(self.clock).subscribe_to(self.uow)  # as the container subscribes it
        self.ids = RandomIds(self.clock)
        self.endpoints = MemoryEndpoints(self.store.tables[ENDPOINTS])
        self.http = WebhookHttpClient(allow_private=allow_private, timeout=timeout)
        self.disabled: list[tuple[str, str]] = []
        self.worker = self.new_worker()

    def new_worker(self) -> DeliveryDispatcher:
        """A worker process (its own queue object and sender over the same store)."""
        async def notify(endpoint: mw.Endpoint, reason: str) -> None:
            self.disabled.append((endpoint.id, reason))
        queue = MemoryDeliveryQueue(self.store, self.clock)
        self.queue = queue
        sender = MerchantWebhookSender(self.endpoints, self.http, self.clock, on_disabled=notify)
        return DeliveryDispatcher(queue, {CHANNEL: sender}, self.clock, send_timeout=5.0)

    async def endpoint(self, url: str, events: list[str] | None = None) -> mw.Endpoint:
        endpoint = mw.Endpoint.new(self.ids.new_id("we"), url, events or ["payment.succeeded", "order.paid"],
                                   "shop backend", self.clock.now())
        await self.endpoints.add(endpoint)
        return endpoint

    async def payment(self) -> PaymentCompleted:
        event = PaymentCompleted(timestamp=self.clock.now(), user_id="u1", user_email="ada@example.com",
                                 user_name="Ada", workspace_id=None, order_id="ord_1", order_number="PP-1",
                                 **_payment_fields())
        await self.raise_event(event)
        return event

    async def raise_event(self, event) -> None:
        """Commit a unit of work in which ``event`` was raised (as an aggregate's change would)."""
        async with self.uow() as uow:
            uow.session.seen.append(_Raised([event]))
            await uow.commit()

    def deliveries(self):
        return sorted((d for d in self.store.tables["deliveries"].values() if d.channel == CHANNEL),
                      key=lambda d: d.payload["type"])

    async def run_due(self) -> int:
        return await self.worker.run_once()


class _Raised:
    """An aggregate that recorded ``events``."""

    def __init__(self, events) -> None:
        self.events = list(events)


def _payment_fields() -> dict:
    import attrs
    names = {a.name for a in attrs.fields(PaymentCompleted)}
    extra = {}
    for name in names - {"event_id", "timestamp", "user_id", "user_email", "user_name", "workspace_id",
                         "order_id", "order_number"}:
        extra[name] = {"amount": 1000, "currency": "NGN"}.get(name, "x")
    return extra


@pytest.fixture
async def world():
    w = World()
    yield w
    await w.http.close()


@pytest.fixture
async def receiver(world):
    r = await Receiver("", world.clock.now).start()
    yield r
    await r.stop()


async def _registered(world, receiver, events=None):
    endpoint = await world.endpoint(receiver.url, events)
    receiver.secrets = [endpoint.secret]
    return endpoint


def test_our_signature_is_the_reference_library_s():
    secret = mw.new_secret()
    when = datetime(2026, 3, 1, tzinfo=UTC)
    body = b'{"type":"payment.succeeded","data":{"amount":1000}}'
    ours = mw.sign(secret, "msg_1", int(when.timestamp()), body)
    assert ours == standardwebhooks.Webhook(secret).sign("msg_1", when, body.decode())
    assert mw.sign(mw.new_secret(), "msg_1", int(when.timestamp()), body) != ours


def test_the_retry_schedule_is_exponential_for_about_three_days():
    delays = [mw.retry_delay(n) for n in range(1, mw.MAX_ATTEMPTS)]
    assert all(b > a for a, b in zip(delays, delays[1:], strict=False)) or delays == sorted(delays)
    assert timedelta(days=2.5) <= timedelta(seconds=sum(delays)) <= timedelta(days=3.5)
    with pytest.raises(ValueError):
        mw.retry_delay(mw.MAX_ATTEMPTS)


async def test_one_delivery_per_event_type_and_endpoint_verified_by_the_receiver(world, receiver):
    await _registered(world, receiver)
    await world.endpoint(receiver.url, ["refund.failed"])  # not subscribed: gets nothing
    event = await world.payment()
    await world.raise_event(event)  # relayed twice: still one delivery per type and endpoint
    assert [d.payload["type"] for d in world.deliveries()] == ["order.paid", "payment.succeeded"]
    assert await world.run_due() == 2
    assert sorted(m["type"] for m in receiver.received) == ["order.paid", "payment.succeeded"]
    assert receiver.refused == []
    assert all(m["data"]["order_id"] == "ord_1" and "user_email" not in m["data"] for m in receiver.received)
    assert {d.status for d in world.deliveries()} == {DeliveryStatus.DELIVERED}


async def test_an_outage_is_retried_on_the_schedule_and_the_id_stays_the_same(world, receiver):
    endpoint = await _registered(world, receiver, ["payment.succeeded"])
    await world.payment()
    receiver.mode = "fail"
    assert await world.run_due() == 1
    [d] = world.deliveries()
    assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 1)
    assert "503" in d.last_error and "down for maintenance" in d.last_error
    world.clock.advance(mw.retry_delay(1) - 1)
    assert await world.run_due() == 0  # not due yet
    world.clock.advance(1)
    assert await world.run_due() == 1  # attempt 2, still failing
    receiver.mode = "ok"
    world.clock.advance(mw.retry_delay(2))
    assert await world.run_due() == 1
    [d] = world.deliveries()
    assert (d.status, d.attempts, receiver.hits) == (DeliveryStatus.DELIVERED, 3, 3)
    assert [m["id"] for m in receiver.received] == [d.payload["msg_id"]]
    assert (await world.endpoints.get(endpoint.id)).failing_since is None
    log = await world.queue.attempts(d.id)
    assert [a.status_code for a in log] == [503, 503, 200]


async def test_a_receiver_down_for_days_is_disabled_and_the_admins_told(world, receiver):
    endpoint = await _registered(world, receiver, ["payment.succeeded"])
    await world.payment()
    receiver.mode = "fail"
    for attempt in range(1, mw.MAX_ATTEMPTS + 1):
        assert await world.run_due() == 1, attempt
        if attempt < mw.MAX_ATTEMPTS and world.deliveries()[0].status is DeliveryStatus.FAILED:
            world.clock.advance(mw.retry_delay(attempt))
        else:
            break
    [d] = world.deliveries()
    assert d.status is DeliveryStatus.DEAD
    stored = await world.endpoints.get(endpoint.id)
    assert not stored.enabled and "failed since" in stored.disabled_reason
    assert world.disabled == [(endpoint.id, stored.disabled_reason)]
    await world.payment()  # a disabled endpoint gets no new deliveries
    assert len(world.deliveries()) == 1


async def test_410_gone_disables_at_once(world, receiver):
    endpoint = await _registered(world, receiver, ["payment.succeeded"])
    await world.payment()
    receiver.mode = "gone"
    await world.run_due()
    [d] = world.deliveries()
    assert (d.status, d.attempts) == (DeliveryStatus.DEAD, 1)
    assert not (await world.endpoints.get(endpoint.id)).enabled
    assert world.disabled and "410" in world.disabled[0][1]


async def test_a_slow_answer_is_a_failed_attempt_retried_later(world, receiver):
    await _registered(world, receiver, ["payment.succeeded"])
    await world.payment()
    receiver.mode = "slow"  # answers after 5 s; the client gives up after 0.5 s
    await world.run_due()
    [d] = world.deliveries()
    assert d.status is DeliveryStatus.FAILED and "no answer within 0.5 s" in d.last_error
    receiver.mode = "ok"
    world.clock.advance(mw.retry_delay(1))
    await world.run_due()
    assert world.deliveries()[0].status is DeliveryStatus.DELIVERED


async def test_a_rotated_secret_keeps_signing_during_the_overlap_only(world, receiver):
    endpoint = await _registered(world, receiver, ["payment.succeeded"])
    old = endpoint.secret
    new = endpoint.rotate(world.clock.now(), timedelta(hours=24))
    await world.endpoints.save(endpoint)
    assert new != old and new.startswith("whsec_")
    receiver.secrets = [old]  # the shop has not switched yet: still verifies
    await world.payment()
    await world.run_due()
    assert len(receiver.received) == 1
    world.clock.advance(25 * 3600)  # overlap over: the old secret no longer signs
    event = PaymentCompleted(timestamp=world.clock.now(), user_id="u1", user_email=None, user_name=None,
                             workspace_id=None, order_id="ord_2", order_number="PP-2", **_payment_fields())
    await world.raise_event(event)
    await world.run_due()
    assert len(receiver.received) == 1 and receiver.refused
    receiver.secrets = [new]
    world.clock.advance(mw.retry_delay(1))
    await world.run_due()
    assert len(receiver.received) == 2


async def test_a_worker_restart_mid_schedule_loses_nothing_and_never_sends_twice_in_a_row(world, receiver):
    await _registered(world, receiver, ["payment.succeeded"])
    await world.payment()
    receiver.mode = "fail"
    await world.run_due()
    world.clock.advance(mw.retry_delay(1))
    await world.run_due()
    world.worker = world.new_worker()  # the worker restarts: a new process over the same store
    receiver.mode = "ok"
    assert await world.run_due() == 0  # the schedule survived: not due before its time
    world.clock.advance(mw.retry_delay(2))
    assert await world.run_due() == 1
    world.clock.advance(3 * 86400)
    assert await world.run_due() == 0  # delivered once: never again
    assert (len(receiver.received), receiver.hits) == (1, 3)
    log = await world.queue.attempts(world.deliveries()[0].id)
    assert [a.outcome for a in log] == [DeliveryStatus.FAILED, DeliveryStatus.FAILED, DeliveryStatus.DELIVERED]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4", "169.254.169.254",
                                     "::1", "fe80::1", "224.0.0.1", "0.0.0.0", "::ffff:127.0.0.1", "100.64.0.1"])
def test_non_public_addresses_are_refused(address):
    assert address_refused(address)


def test_public_addresses_pass():
    assert address_refused("93.184.216.34") is None and address_refused("2606:2800:220:1::1") is None


async def test_loopback_is_refused_at_registration_without_the_setting():
    with pytest.raises(UnsafeAddress):
        await check_url("http://127.0.0.1:8080/hooks", allow_private=False)
    with pytest.raises(UnsafeAddress):
        await check_url("http://localhost/hooks", allow_private=False)
    with pytest.raises(UnsafeAddress):
        await check_url("ftp://example.com/", allow_private=True)
    await check_url("http://127.0.0.1:8080/hooks", allow_private=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_delivery_to_loopback_is_refused_without_the_setting(receiver, host):
    world = World(allow_private=False)
    try:
        endpoint = await world.endpoint(receiver.url.replace("127.0.0.1", host), ["payment.succeeded"])
        receiver.secrets = [endpoint.secret]
        await world.payment()
        await world.run_due()
        [d] = world.deliveries()
        assert d.status is DeliveryStatus.FAILED and "refused" in d.last_error
        assert receiver.hits == 0  # never connected
    finally:
        await world.http.close()


async def test_a_redirect_is_never_followed(world, receiver):
    await _registered(world, receiver, ["payment.succeeded"])
    await world.payment()
    receiver.mode = "redirect"  # to a private address
    await world.run_due()
    [d] = world.deliveries()
    assert d.status is DeliveryStatus.FAILED and "redirect (302) not followed" in d.last_error
    assert receiver.hits == 1


# -- the admins' use cases -----------------------------------------------------------------------
from application.errors import NotFound  # noqa: E402
from application.merchant_webhooks import MerchantWebhookAdmin  # noqa: E402
from domain.errors import InvalidValue  # noqa: E402


def _admin(world, allow_private=True):
    return MerchantWebhookAdmin(world.endpoints, world.uow, lambda url: check_url(url, allow_private),
                                world.clock, world.ids.new_id, queue=world.queue)


async def test_registration_refuses_unknown_events_and_unsafe_urls_and_changes_nothing(world):
    admin = _admin(world, allow_private=False)
    with pytest.raises(InvalidValue):
        await admin.create("https://93.184.216.34/hooks", ["payment.teleported"])
    with pytest.raises(InvalidValue):
        await admin.create("http://127.0.0.1:9/hooks", ["payment.succeeded"])
    with pytest.raises(InvalidValue):
        await admin.create("https://93.184.216.34/hooks", [])
    assert await world.endpoints.list() == []


async def test_admin_test_event_redelivery_and_updates_reach_the_receiver(world, receiver):
    admin = _admin(world)
    endpoint = await admin.create(receiver.url, ["payment.succeeded"], "shop")
    receiver.secrets = [endpoint.secret]
    stored = await world.endpoints.get(endpoint.id)
    assert stored.secret == endpoint.secret and "whsec_" not in repr(stored)
    await admin.send_test(endpoint.id)
    await world.run_due()
    assert [m["type"] for m in receiver.received] == [mw.TEST_EVENT]
    await world.payment()
    await world.run_due()
    [original] = [d for d in world.deliveries() if d.payload["type"] == "payment.succeeded"]
    again = await admin.redeliver(endpoint.id, original.id)
    await world.run_due()
    assert [m["id"] for m in receiver.received[1:]] == [original.payload["msg_id"]] * 2
    assert (await world.queue.get(again.id)).status is DeliveryStatus.DELIVERED
    disabled = await admin.update(endpoint.id, enabled=False, description="paused")
    assert (disabled.enabled, disabled.description) == (False, "paused")
    await world.payment()
    assert len(world.deliveries()) == 3  # a disabled endpoint gets nothing new
    with pytest.raises(NotFound):
        await admin.redeliver("we_missing", original.id)
    await admin.delete(endpoint.id)
    with pytest.raises(NotFound):
        await admin.get(endpoint.id)
