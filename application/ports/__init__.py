"""Ports: what the use cases need from the world, as ``typing.Protocol``s (fakes need no inheritance)."""
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
    CouponRepository,
    Ledger,
    NotificationRepository,
    OrderRepository,
    Page,
    PaymentRepository,
    ProductRepository,
    ReadModel,
    RefundRepository,
    TransactionHandler,
    TransactionSubscribers,
    UnitOfWork,
    UnitOfWorkFactory,
    UserRepository,
    WebhookInbox,
)

__all__ = [name for name in dir() if not name.startswith("_")]
