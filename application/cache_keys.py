"""Cache key names (DESIGN.md §3; the configured prefix is added by the cache adapter)."""


def product(product_id: str) -> str:
    return f"product:{product_id}"


def products_list(query: str) -> str:
    return f"products:{query}"


PRODUCTS_ALL = "products:*"
CATEGORIES = "categories"


def order(order_id: str) -> str:
    return f"order:{order_id}"


def orders_of(owner_id: str) -> str:
    return f"orders:{owner_id}:*"


def orders_list(owner_id: str, query: str) -> str:
    return f"orders:{owner_id}:{query}"


def payment(payment_id: str) -> str:
    return f"transaction:{payment_id}"


def payments_of(owner_id: str) -> str:
    return f"user_transactions:{owner_id}:*"


def payments_list(owner_id: str, query: str) -> str:
    return f"user_transactions:{owner_id}:{query}"


def refund(refund_id: str) -> str:
    return f"refund:{refund_id}"


def refunds_of(owner_id: str) -> str:
    return f"refunds:{owner_id}:*"


def refunds_list(owner_id: str, query: str) -> str:
    return f"refunds:{owner_id}:{query}"


ADMIN = "all"  # owner segment of list keys for admins' unfiltered lists
