"""Failures, and the domain's own: errors that say a business rule was broken.

Every failure an operation reports is a ``Failure``: a human ``message``, a stable machine-readable
``code``, ``details``, and a ``kind`` (what sort of failure it is) by which the edges answer: the
HTTP status comes from the kind, in one table (``entrypoints/http/problems.py``). ``title`` names
the problem type where it says more than its kind's title does. Two families share the base:
``DomainError`` here (a rule of the domain was broken) and ``ApplicationError`` in
``application/errors.py`` (not found, a conflict, a service down...), which is not a domain error.
"""
from __future__ import annotations

import enum


class Kind(str, enum.Enum):
    """What sort of failure: what the caller can do about it."""

    INVALID = "invalid"              # the request breaks a rule: change it, do not repeat it
    CONFLICT = "conflict"            # not possible in the current state of the thing
    NOT_FOUND = "not_found"          # no such thing (or not the caller's to see)
    UNAUTHORIZED = "unauthorized"    # who is calling is not known
    FORBIDDEN = "forbidden"          # known, and not allowed
    RATE_LIMITED = "rate_limited"    # too many requests: wait, then repeat
    UNAVAILABLE = "unavailable"      # a service we need is down: nothing was done, repeat later
    UPSTREAM = "upstream"            # a service we called refused or failed
    TIMED_OUT = "timed_out"          # a service we called did not answer: the outcome is unknown


class Failure(Exception):
    """What every expected failure carries. Nothing was changed unless the subclass says so."""

    code = "failure"
    kind = Kind.INVALID
    #: A short summary of the problem type when its kind's title says too little (None: the kind's).
    title: str | None = None
    #: True when the same request may well succeed if sent again (a race lost, a service down):
    #: never stored as an Idempotency-Key's final answer.
    transient: bool = False

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class DomainError(Failure):
    """A rule of the domain was broken. Nothing was changed."""

    code = "domain_error"


class InvalidValue(DomainError):
    code = "invalid_value"


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"
    title = "Currency mismatch"


class UnknownCurrency(DomainError):
    code = "unknown_currency"


class IllegalTransition(DomainError):
    code = "illegal_transition"
    kind = Kind.CONFLICT
    title = "Not allowed in the current state"


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    kind = Kind.CONFLICT
    title = "Insufficient stock"


class ProductUnavailable(DomainError):
    code = "product_unavailable"
    kind = Kind.CONFLICT
    title = "Product unavailable"


class CouponInvalid(DomainError):
    code = "coupon_invalid"
    title = "Coupon not applicable"


class RefundNotAllowed(DomainError):
    code = "refund_not_allowed"
    kind = Kind.CONFLICT
    title = "Refund not allowed"


class RefundExceedsCaptured(DomainError):
    code = "refund_exceeds_captured"
    title = "Refund exceeds the refundable amount"


class PaymentNotAllowed(DomainError):
    code = "payment_not_allowed"
    kind = Kind.CONFLICT
    title = "Payment not allowed"


class CancellationNotAllowed(DomainError):
    code = "cancellation_not_allowed"
    kind = Kind.CONFLICT
    title = "Cancellation not allowed"
