"""Domain errors. Each carries a stable machine-readable ``code``; the HTTP edge maps them."""


class DomainError(Exception):
    """A rule of the domain was broken. Nothing was changed."""

    code = "domain_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidValue(DomainError):
    code = "invalid_value"


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"


class UnknownCurrency(DomainError):
    code = "unknown_currency"


class IllegalTransition(DomainError):
    code = "illegal_transition"


class InsufficientStock(DomainError):
    code = "insufficient_stock"


class ProductUnavailable(DomainError):
    code = "product_unavailable"


class CouponInvalid(DomainError):
    code = "coupon_invalid"


class RefundNotAllowed(DomainError):
    code = "refund_not_allowed"


class RefundExceedsCaptured(DomainError):
    code = "refund_exceeds_captured"


class PaymentNotAllowed(DomainError):
    code = "payment_not_allowed"
