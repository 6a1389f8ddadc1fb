"""The contexts whose Postgres repositories every Postgres unit of work carries: one line each,
in foreign-key order (a context's tables refer only to those of the contexts above it)."""
from __future__ import annotations

from adapters.postgres import (
    backoffice,
    caching,
    cart,
    catalog,
    checkout,
    deliveries,
    delivery,
    fraud,
    identity,
    idempotency,
    merchant_webhooks,
    notifications,
    orders,
    outbox,
    payments,
    reviews,
    support,
    wishlist,
)
from adapters.unit_of_work import merge_repositories

CONTEXTS = (
    identity,
    catalog,
    orders,
    payments,
    notifications,
    cart,
    delivery,
    checkout,
    deliveries,
    merchant_webhooks,
    caching,
    wishlist,
    reviews,
    support,
)

#: Modules keeping tables that no repository serves (idempotent replies, the outbox, the back office's).
STORES = (idempotency, outbox, fraud, backoffice)

#: Unit-of-work attribute -> factory taking the PostgresSession.
REPOSITORIES = merge_repositories(CONTEXTS)

#: Every table the adapters write, in an order that respects the foreign keys (for TRUNCATE).
ALL_TABLES = tuple(table for module in (*CONTEXTS, *STORES) for table in module.TABLES)
