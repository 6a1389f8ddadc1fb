"""merchant webhooks: the endpoints (memory store table or Postgres), the admins' use cases, the
in-transaction subscription that turns domain events into deliveries, and the ``merchant_webhook``
sender registered with the delivery dispatcher (one HTTP client with the SSRF guard, closed with
the app). An endpoint disabled after failing for days alerts every admin: an in-app notification
and, with ``SMTP_URL``, an e-mail."""
from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

from dependency_injector import containers, providers

from adapters.memory.merchant_webhooks import ENDPOINTS, MemoryDeliveryLog, MemoryEndpoints
from adapters.postgres.merchant_webhooks import PostgresDeliveryLog, PostgresEndpoints
from adapters.webhook_delivery import WebhookHttpClient, check_url
from application.merchant_webhooks import (
    CHANNEL,
    DisabledEndpointAlerts,
    MerchantWebhookAdmin,
    MerchantWebhookEvents,
    MerchantWebhookSender,
)


async def http_client(allow_private: bool, timeout: float) -> AsyncIterator[WebhookHttpClient]:
    client = WebhookHttpClient(allow_private=bool(allow_private), timeout=timeout)
    try:
        yield client
    finally:
        await client.close()


class MerchantWebhooksContainer(containers.DeclarativeContainer):
    exports = {"merchant_webhooks": "admin"}

    config = providers.Configuration()
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()
    notifications = providers.DependenciesContainer()

    endpoints = providers.Selector(
        config.storage,
        memory=providers.Singleton(MemoryEndpoints, providers.Callable(lambda store: store.tables[ENDPOINTS],
                                                                       storage.memory_store)),
        postgres=providers.Singleton(PostgresEndpoints, storage.pg_pool))
    delivery_log = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryDeliveryLog, storage.memory_store),
        postgres=providers.Singleton(PostgresDeliveryLog, storage.pg_pool))
    url_check = providers.Callable(lambda allow: partial(check_url, allow_private=bool(allow)),
                                   config.webhook_allow_private)
    admin = providers.Singleton(MerchantWebhookAdmin, endpoints, storage.uow, url_check, core.clock,
                                core.ids.provided.new_id, queue=storage.delivery_queue, delivery_log=delivery_log)

    http = providers.Resource(http_client, config.webhook_allow_private, config.webhook_timeout)
    alerts = providers.Singleton(DisabledEndpointAlerts, storage.uow, core.ids, core.notifier, core.clock,
                                 mail=notifications.mail)
    sender = providers.Singleton(MerchantWebhookSender, endpoints, http, core.clock, on_disabled=alerts)
    events = providers.Singleton(MerchantWebhookEvents, core.clock)

    subscriptions = providers.List(events)
    delivery_senders = providers.Dict({CHANNEL: sender})
