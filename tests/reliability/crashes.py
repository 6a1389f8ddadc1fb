"""Process deaths for the crash battery: the points where payport may die, and a world that dies
there and comes back on the same durable stores.

A death is ``Died`` (a ``BaseException``) raised at a recovery point: no ``except Exception``
compensation runs (a dead process runs none), open transactions roll back (the database aborts a
dead connection's), and the HTTP connection drops. The Idempotency-Key the request held is *not*
released (a dead process releases nothing): a retry gets 409 until the key's lock lapses. Then the
app and its container are thrown away, with everything only in memory (caches, circuit breakers,
the in-process event bus), and a new one is built on the same stores: the memory store and the
idempotency records (the memory backend's "disk"), or Postgres + Redis.
"""
from __future__ import annotations

import functools

from aiohttp.test_utils import TestClient, TestServer
from dependency_injector import providers

import container as composition
from adapters.memory.infrastructure import MemoryIdempotencyStore
from adapters.memory.store import MemoryStore
from entrypoints.http.app import create_app
from tests.e2e.api import Api


class Died(BaseException):
    """The process died here."""


#: Every recovery point of initiation, settlement and refund, in the order a payment meets them.
POINTS = (
    "init.before_gateway_call",        # phase 1 committed (the intent may have reached the gateway), nothing sent
    "init.after_gateway_accepted",     # the gateway made the page; we never recorded its answer
    "init.after_outcome_recorded",     # phase 3 committed; the client never got the answer
    "webhook.after_claim",             # the dedup claim is taken; the event is not in the inbox
    "webhook.after_inbox",             # the event is in the inbox; not applied
    "settle.before_commit",            # the capture is applied in the settling transaction, not committed
    "settle.after_commit",             # committed; its events not yet published, nothing after it run
    "short.after_commit",              # the gateway captured less than asked: committed with its automatic
                                       # refund reserved; the refund not yet sent
    "callback.after_verify",           # the redirect's status query answered; not applied
    "expire.after_close",              # the worker closed the page at the gateway; the expiry not recorded
    "refund.after_reserve",            # the refund is reserved and its call counted; nothing sent
    "refund.after_gateway_accepted",   # the gateway made the refund; we never recorded its answer
    "refund.after_settled",            # the refund's outcome committed; the client never got the answer
)


class Crash:
    """Armed at one point; dies there once."""

    def __init__(self) -> None:
        self.armed: str | None = None
        self.dying = False  # between the death and the reboot: the dead process does nothing more
        self.hits: dict[str, int] = {}

    def arm(self, point: str) -> None:
        self.armed = point

    def at(self, point: str) -> None:
        if self.armed == point:
            self.armed, self.dying = None, True
            self.hits[point] = self.hits.get(point, 0) + 1
            raise Died(point)


def _after(obj, name: str, crash: Crash, point: str) -> None:
    """Die at ``point`` right after ``obj.name(...)`` returned."""
    original = getattr(obj, name)

    @functools.wraps(original)
    async def wrapped(*args, **kwargs):
        result = await original(*args, **kwargs)
        crash.at(point)
        return result
    setattr(obj, name, wrapped)


def install(services, crash: Crash) -> None:
    """Put the recovery points into one booted app's objects (they die with it)."""
    stripe = services.gateways.get("stripe")
    initialize = stripe.initialize_payment

    async def initialize_payment(request):
        crash.at("init.before_gateway_call")
        result = await initialize(request)
        crash.at("init.after_gateway_accepted")
        return result
    stripe.initialize_payment = initialize_payment
    _after(services.initiate_payment, "_record_outcome", crash, "init.after_outcome_recorded")

    webhooks, settlement, refunds = services.webhooks, services.settlement, services.refunds
    dedup = webhooks._dedup

    async def claimed(operation, gateway, event_id):
        result = await dedup(operation, gateway, event_id)
        if operation == "claim":
            crash.at("webhook.after_claim")
        return result
    webhooks._dedup = claimed
    _after(webhooks, "receive", crash, "webhook.after_inbox")
    _after(settlement, "_capture", crash, "settle.before_commit")
    settlement.uow = _dying_after_commit(settlement.uow, crash)
    _after(settlement, "verify", crash, "callback.after_verify")
    _after(settlement, "close", crash, "expire.after_close")
    _after(refunds, "_reserve", crash, "refund.after_reserve")
    _after(stripe, "refund", crash, "refund.after_gateway_accepted")
    _after(refunds, "settle", crash, "refund.after_settled")
    _keep_keys_held(services.idempotency, crash)


def _dying_after_commit(factory, crash: Crash):
    """The settlement's units of work die between their commit and publishing its events (and
    whatever else runs after a commit: cache invalidation, the answer). On Postgres the events
    are in the outbox with the commit (the relay publishes them): it dies right after the commit."""
    def completes(events) -> bool:
        return any(type(event).__name__ == "PaymentCompleted" for event in events)

    def make():
        uow = factory()
        commit, publish = uow.commit, uow._publish

        async def committing():
            raised = [event for obj in uow.session.seen for event in obj.events]
            await commit()
            if completes(raised) and not completes(uow._outgoing):
                crash.at("settle.after_commit")
                crash.at("short.after_commit")

        async def dying(outgoing):
            if completes(outgoing):
                crash.at("settle.after_commit")
                crash.at("short.after_commit")
            await publish(outgoing)
        uow.commit, uow._publish = committing, dying
        return uow
    return make


def _keep_keys_held(store, crash: Crash) -> None:
    """A dead process releases no Idempotency-Key (its lock lapses instead)."""
    if getattr(store, "_crash_battery", False):
        return
    release = store.release

    async def released(scope, key):
        if not crash.dying:
            await release(scope, key)
    store.release, store._crash_battery = released, True


class World:
    """The service over durable stores that outlive any one process, and the fake gateway."""

    def __init__(self, settings: dict, environ: dict, clock, crash: Crash) -> None:
        self.settings, self.environ, self.clock, self.crash = settings, environ, clock, crash
        memory = settings.get("database_url") is None
        self.store = MemoryStore() if memory else None
        self.idempotency = MemoryIdempotencyStore(clock) if memory else None
        self.client: TestClient | None = None
        self.container = None
        self.api: Api | None = None
        self.boots = 0

    async def boot(self) -> Api:
        built = composition.build_container(self.settings, environ=self.environ)
        built.core.clock.override(providers.Object(self.clock))
        if self.store is not None:
            built.storage.memory_store.override(providers.Object(self.store))
            built.storage.idempotency.override(providers.Object(self.idempotency))
        self.client = TestClient(TestServer(create_app(built)))
        await self.client.start_server()
        self.container, self.api = built, Api(self.client)
        install(self.api.services, self.crash)
        self.crash.dying = False
        self.boots += 1
        return self.api

    async def reboot(self) -> Api:
        """The process died: throw it away and start another on the same stores."""
        await self.shutdown()
        return await self.boot()

    async def shutdown(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None
