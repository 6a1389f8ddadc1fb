"""Cache key names (DESIGN.md §3; the configured prefix is added by the cache adapter).

Single keys name one resource; groups name every cached list of one owner (any filter, any page),
invalidated together by bumping the group's version (see ``application.caching``).
"""

ADMIN = "all"  # owner segment of the groups of admins' unfiltered lists
CATEGORIES = "categories"
PRODUCTS = "products"


def product(product_id: str) -> str:
    return f"product:{product_id}"


def order(order_id: str) -> str:
    return f"order:{order_id}"


def payment(payment_id: str) -> str:
    return f"transaction:{payment_id}"


def refund(refund_id: str) -> str:
    return f"refund:{refund_id}"


def orders(owner_id: str) -> str:
    return f"orders:{owner_id}"


def payments(owner_id: str) -> str:
    return f"user_transactions:{owner_id}"


def refunds(owner_id: str) -> str:
    return f"refunds:{owner_id}"


def in_group(group: str, query: str) -> str:
    """The key of one list (``query``: its canonical query string) within its group."""
    return f"{group}:{query}"


def payment_config(name: str) -> str:
    """One gateway's stored configuration (``name`` a gateway), or the routing table (``routes``)."""
    return f"payment_config:{name}"
