"""payments: initiation, settlement, refunds, the webhook inbox (and its retry job)."""
from dependency_injector import containers, providers

from application.inbox_guard import InboxGuard
from adapters.gateways.sandbox_script import delivery_job
from application.jobs import Job
from application.payments.initiate import InitiatePayment
from application.payments.queries import Payments
from application.payments.refunds import Refunds
from application.payments.settle import PaymentSettlement
from application.payments.webhooks import Webhooks
from application.webhook_retries import WebhookRetries


def payment_jobs(queries, webhooks: Webhooks, clock, interval: float, sandbox, sandbox_enabled: bool) -> list[Job]:
    """Webhook retries, claimed (several workers never process one inbox row together); with the
    sandbox on, the webhooks of its delayed outcomes (``sandbox_script``)."""
    return [WebhookRetries(queries, webhooks, clock, interval),
            *([delivery_job(sandbox, webhooks)] if sandbox_enabled else [])]


class PaymentsContainer(containers.DeclarativeContainer):
    config = providers.Configuration()
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()
    cache = providers.DependenciesContainer()
    gateways = providers.DependenciesContainer()
    fraud = providers.DependenciesContainer()

    refunds = providers.Singleton(
        Refunds, storage.uow, storage.read_model, gateways.registry, core.clock, core.ids,
        customer_window_days=config.refund_window_days, cache=cache.cache,
        on_attention=providers.Callable(lambda m: lambda g: m.refunds_attention.labels(g).inc(), core.metrics),
        on_status=providers.Callable(lambda m: lambda s: m.refunds.labels(s).inc(), core.metrics))
    settlement = providers.Singleton(
        PaymentSettlement, storage.uow, gateways.registry, core.clock, core.ids, cache=cache.cache, refunds=refunds,
        on_status=providers.Callable(lambda m: lambda g, s: m.payments.labels(g, s).inc(), core.metrics))
    initiate_payment = providers.Singleton(InitiatePayment, storage.uow, gateways.registry, fraud.checker, core.clock,
                                           core.ids, public_url=config.public_url, cache=cache.cache)
    payments = providers.Singleton(Payments, storage.uow, storage.read_model, settlement)
    webhooks = providers.Singleton(
        Webhooks, storage.uow, gateways.registry, settlement, refunds, core.clock, core.ids, dedup=cache.webhook_dedup,
        on_outcome=providers.Callable(lambda m: lambda g, o: m.webhooks.labels(g, o).inc(), core.metrics))

    inbox_guard = providers.Singleton(InboxGuard, storage.uow)

    jobs = providers.Callable(payment_jobs, storage.maintenance_queries, webhooks, core.clock, config.worker_interval,
                              gateways.sandbox, config.sandbox_enabled)
