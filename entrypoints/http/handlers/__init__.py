"""Route handlers, one module per area. Importing this package registers every route."""
from entrypoints.http.handlers import (  # noqa: F401
    admin,
    auth,
    cart,
    catalog,
    catalog_admin,
    checkout,
    delivery,
    notifications,
    ops,
    orders,
    payments,
    refunds,
    sandbox,
    webhooks,
)
