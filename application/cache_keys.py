"""Cache key names (DESIGN.md §3; the configured prefix is added by the cache adapter).

Single keys name one resource; groups name every cached list of one owner (any filter, any page),
invalidated together by bumping the group's version (see ``application.caching``).

Every name is a Redis Cluster hash tag (``{order:o1}``): what belongs to one resource or one group
(its entry, its generation ``{order:o1}:gen``, a list page ``{orders:u1}:<query>``, the group's
version ``{orders:u1}:ver``) hashes to one slot, so a script or command that names several of them
(the compare-and-set fill) never crosses slots. It also keeps a resource id from ever naming a
counter: an id is inside the braces, the counter's suffix outside.
"""

ADMIN = "all"  # owner segment of the groups of admins' unfiltered lists


def _tag(name: str) -> str:
    return "{" + name + "}"


CATEGORIES = _tag("categories")
PRODUCTS = _tag("products")
FAQ = _tag("faq")
TAGS = _tag("tags")


def product(product_id: str) -> str:
    return _tag(f"product:{product_id}")


def product_reviews(product_id: str) -> str:
    """The group of a product's cached review pages."""
    return _tag(f"reviews:{product_id}")


def order(order_id: str) -> str:
    return _tag(f"order:{order_id}")


def payment(payment_id: str) -> str:
    return _tag(f"transaction:{payment_id}")


def refund(refund_id: str) -> str:
    return _tag(f"refund:{refund_id}")


def orders(owner_id: str) -> str:
    return _tag(f"orders:{owner_id}")


def payments(owner_id: str) -> str:
    return _tag(f"user_transactions:{owner_id}")


def refunds(owner_id: str) -> str:
    return _tag(f"refunds:{owner_id}")


def in_group(group: str, query: str) -> str:
    """The key of one list (``query``: its canonical query string) within its group."""
    return f"{group}:{query}"


def payment_config(name: str) -> str:
    """One gateway's stored configuration (``name`` a gateway), or the routing table (``routes``)."""
    return _tag(f"payment_config:{name}")


def legacy_payment_config(name: str) -> str:
    """The untagged name ``payment_config`` had before issue 20 (its entry and ``:gen`` counter
    hashed to two slots): invalidated beside the new one, so processes of the release before
    this one, during a rolling upgrade, hear of a change too."""
    return f"payment_config:{name}"


def analytics_summary(start: str, end: str, currency: str) -> str:
    """One analytics summary (its range and reporting currency)."""
    return _tag(f"analytics:summary:{start}:{end}:{currency}")
