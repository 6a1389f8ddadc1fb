"""Ports: what the use cases need from the world, as ``typing.Protocol``s (fakes need no inheritance).

A context's repository Protocols and its unit of work are imported from its own module
(``application.ports.payments``...), not from here."""
from application.ports.gateways import (
    GatewayRegistry,
    InitializePayment,
    InitializedPayment,
    PaymentGateway,
    RefundOutcome,
    RefundPayment,
    VerifiedPayment,
)
from application.ports.infrastructure import (
    Cache,
    CheckoutSessionStore,
    Clock,
    EventBus,
    EventHandler,
    FraudChecker,
    FraudDecision,
    IdempotencyBegin,
    IdempotencyStore,
    IdGenerator,
    Notifier,
    PasswordHasher,
    RateLimiter,
    RateLimitResult,
    StoredResponse,
    TokenIssuer,
    WebhookDedup,
)
from application.ports.repositories import (
    Page,
    ReadModel,
    TransactionHandler,
    TransactionSubscribers,
    UnitOfWork,
    UnitOfWorkFactory,
)

__all__ = [name for name in dir() if not name.startswith("_")]
