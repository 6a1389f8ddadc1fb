"""The route tables ``create_app`` serves, one line per context's table. A new context adds its
table here (its handlers module declares ``routes = RouteTable("<name>")``).

The order is the router's: a request goes to the first resource whose path matches it, so a table
that adds a path another table's template would also match comes before it.
"""
from __future__ import annotations

from entrypoints.http.endpoint import RouteTable
from entrypoints.http.handlers import (
    admin,
    auth,
    backoffice,
    cart,
    catalog,
    catalog_admin,
    checkout,
    console,
    delivery,
    docs,
    merchant_webhooks,
    notifications,
    ops,
    orders,
    payments,
    refunds,
    reviews,
    sandbox,
    support,
    webhooks,
    wishlist,
)

ROUTE_TABLES: tuple[RouteTable, ...] = (
    admin.routes,
    backoffice.routes,  # after admin: /admin/webhooks/failed before /admin/webhooks/{webhook_id}
    auth.routes,
    cart.routes,
    catalog.routes,
    catalog_admin.routes,
    checkout.routes,
    console.routes,
    delivery.routes,
    docs.routes,
    merchant_webhooks.routes,
    notifications.routes,
    ops.routes,
    orders.routes,
    payments.routes,
    refunds.routes,
    sandbox.routes,
    webhooks.routes,
    wishlist.routes,
    reviews.routes,
    support.routes,
)
