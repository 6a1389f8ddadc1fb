"""The contexts whose memory repositories every memory unit of work carries: one line each."""
from __future__ import annotations

from adapters.memory import (
    caching,
    cart,
    catalog,
    checkout,
    deliveries,
    delivery,
    identity,
    merchant_webhooks,
    notifications,
    orders,
    payments,
    reviews,
    support,
    wishlist,
)
from adapters.unit_of_work import merge_repositories

CONTEXTS = (
    identity,
    catalog,
    cart,
    delivery,
    orders,
    checkout,
    payments,
    notifications,
    deliveries,
    merchant_webhooks,
    caching,
    wishlist,
    reviews,
    support,
)

#: Unit-of-work attribute -> factory taking the MemorySession.
REPOSITORIES = merge_repositories(CONTEXTS)
