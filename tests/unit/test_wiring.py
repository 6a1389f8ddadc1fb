"""The container split by concern: a new context is its own container plus one line in the root,
and what it registers (services, jobs, subscriptions, delivery senders) is found without a list."""
from __future__ import annotations

import pytest
from dependency_injector import containers, providers

import container as composition
from application.jobs import Every
from application.ports.deliveries import Delivery, DeliveryOutcome, DeliveryStatus
from entrypoints.bootstrap import prepare
from entrypoints.settings import load_settings
from entrypoints.worker import Worker, registered_jobs

FAST = {"scrypt_n": 2**10}


class Tickets:
    """A small example context's use case: opening a ticket tells the support desk, durably."""

    def __init__(self, uow, ids, clock) -> None:
        self.uow, self.ids, self.clock, self.subscribed_to, self.desk = uow, ids, clock, None, []

    async def open(self, subject: str) -> str:
        ticket_id = self.ids.new_id("tkt")
        async with self.uow() as uow:
            await uow.deliveries.enqueue(Delivery.new(self.ids.new_id("dlv"), "support_desk", ticket_id,
                                                      {"subject": subject}, self.clock.now()))
            await uow.commit()
        return ticket_id

    async def tell_the_desk(self, delivery: Delivery) -> DeliveryOutcome:
        self.desk.append(delivery.payload["subject"])
        return DeliveryOutcome.ok()

    async def escalate(self) -> int:
        return 0

    def subscribe_to(self, subscribers) -> None:
        self.subscribed_to = subscribers


class SupportContainer(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()

    tickets = providers.Singleton(Tickets, storage.uow, core.ids, core.clock)

    jobs = providers.Callable(lambda t: [Every("ticket_escalation", 60, t.escalate)], tickets)
    subscriptions = providers.List(tickets)
    delivery_senders = providers.Dict(support_desk=tickets.provided.tell_the_desk)


class WithSupport(composition.Container):
    desk = providers.Container(SupportContainer, core=composition.Container.core,
                                  storage=composition.Container.storage)


@pytest.fixture
async def support():
    container = composition.container_for(load_settings({}, FAST), WithSupport)
    services = await prepare(container)
    yield container, services
    await composition.stop(container)


async def test_a_new_context_is_its_own_container_plus_one_line(support):
    container, services = support
    assert isinstance(services.tickets, Tickets)  # a service, by its provider's name
    assert "tickets" in vars(services)  # a plain attribute: nothing runs on a handler's read
    assert services.tickets.subscribed_to is await composition.resolve(container.storage.uow)
    jobs = await registered_jobs(container)
    assert "ticket_escalation" in [job.name for job in jobs]

    await services.tickets.open("the parcel never came")
    done = await Worker(jobs).run_each_once()
    assert done["deliveries"] == 1 and services.tickets.desk == ["the parcel never came"]
    queue = await composition.resolve(container.storage.delivery_queue)
    [row] = [d for d in container.storage.memory_store().tables["deliveries"].values()]
    assert (await queue.get(row.id)).status is DeliveryStatus.DELIVERED


async def test_the_services_are_those_of_before():
    container = composition.build_container(FAST, environ={})
    services = await prepare(container)
    try:
        assert set(vars(services)) == {
            "auth", "catalog", "cart", "addresses", "checkout", "orders", "initiate_payment", "payments",
            "settlement", "refunds", "webhooks", "notifications", "maintenance", "sandbox", "gateways",
            "gateway_settings", "cache", "rate_limiter", "idempotency", "metrics", "rate_limits", "ttls",
            "trusted_proxies", "health_checks",
            # issue 18
            "wishlist", "reviews", "support_tickets", "contact_form", "faq", "profiles", "mail",
            # issue 17: the back office
            "fulfilment", "order_cancellation", "backoffice", "analytics", "gateway_config", "fraud_rules",
            # issue 16
            "edge", "inbox_guard",
            # issue 19
            "merchant_webhooks"}
    finally:
        await composition.stop(container)


async def test_what_the_configuration_does_not_select_is_never_opened():
    container = composition.build_container(FAST, environ={})
    await composition.start(container)
    try:
        for resource in (container.storage.pg_pool, container.cache.redis, container.cache.redis_bus_client,
                         container.cache.redis_pubsub, container.cache.tiered):
            assert resource.initialized and await composition.resolve(resource) is None
        session = await composition.resolve(container.gateways.http_session)  # always: real gateways may be on
        assert not session.closed
    finally:
        await composition.stop(container)
    assert not container.gateways.http_session.initialized and session.closed


class MoreTickets(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()

    tickets = providers.Singleton(Tickets, storage.uow, core.ids, core.clock)


@pytest.mark.parametrize(("second", "refusal"), [
    (MoreTickets, "two containers provide the service 'tickets'"),
    (SupportContainer, r"the desk container registers delivery_senders \['support_desk'\] again"),
])
async def test_a_name_registered_twice_is_a_wiring_error(second, refusal):
    class Twice(composition.Container):
        again = providers.Container(second, core=composition.Container.core, storage=composition.Container.storage)
        desk = providers.Container(SupportContainer, core=composition.Container.core,
                                   storage=composition.Container.storage)
    container = composition.container_for(load_settings({}, FAST), Twice)
    with pytest.raises(RuntimeError, match=refusal):
        await prepare(container)
    await composition.stop(container)
