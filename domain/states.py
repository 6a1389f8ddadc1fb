"""Status vocabularies and their transition tables (DESIGN.md §2). Tables are data, tested exhaustively."""
from __future__ import annotations

import enum
from collections.abc import Mapping

from domain.errors import IllegalTransition


class OrderStatus(str, enum.Enum):
    PENDING = "pending"
    PAID = "paid"
    PROCESSING = "processing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class PaymentStatus(str, enum.Enum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


class RefundStatus(str, enum.Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WebhookStatus(str, enum.Enum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"
    IGNORED = "ignored"


class TransactionType(str, enum.Enum):
    PAYMENT = "payment"
    REFUND = "refund"


class TransactionStatus(str, enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"


_O = OrderStatus
_REFUNDABLE_ORDER = (_O.PAID, _O.PROCESSING, _O.COMPLETED)
ORDER_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    _O.PENDING: frozenset({_O.PAID, _O.CANCELLED, _O.FAILED}),
    _O.PAID: frozenset({_O.PROCESSING, _O.PARTIALLY_REFUNDED, _O.REFUNDED}),
    _O.PROCESSING: frozenset({_O.COMPLETED, _O.PARTIALLY_REFUNDED, _O.REFUNDED}),
    _O.COMPLETED: frozenset({_O.PARTIALLY_REFUNDED, _O.REFUNDED}),
    _O.PARTIALLY_REFUNDED: frozenset({_O.REFUNDED}),
    _O.CANCELLED: frozenset(),
    _O.FAILED: frozenset(),
    _O.REFUNDED: frozenset(),
}

_P = PaymentStatus
PAYMENT_TERMINAL = frozenset({_P.SUCCEEDED, _P.FAILED, _P.CANCELED, _P.EXPIRED})
_PAYMENT_ORDER = [_P.REQUIRES_PAYMENT_METHOD, _P.REQUIRES_ACTION, _P.PROCESSING]
# A non-terminal intent moves forward only (rpm -> requires_action -> processing) or ends in any
# terminal state: a success we learn about late (the init reply was lost) must still be recorded.
PAYMENT_TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    **{
        s: frozenset(_PAYMENT_ORDER[i + 1:]) | PAYMENT_TERMINAL
        for i, s in enumerate(_PAYMENT_ORDER)
    },
    **{s: frozenset() for s in PAYMENT_TERMINAL},
}

_R = RefundStatus
REFUND_TRANSITIONS: Mapping[RefundStatus, frozenset[RefundStatus]] = {
    _R.PENDING: frozenset({_R.PROCESSING, _R.FAILED}),
    _R.PROCESSING: frozenset({_R.SUCCEEDED, _R.FAILED}),
    _R.SUCCEEDED: frozenset(),
    _R.FAILED: frozenset(),
}

_W = WebhookStatus
WEBHOOK_TRANSITIONS: Mapping[WebhookStatus, frozenset[WebhookStatus]] = {
    _W.RECEIVED: frozenset({_W.PROCESSED, _W.FAILED, _W.IGNORED}),
    _W.FAILED: frozenset({_W.PROCESSED, _W.FAILED, _W.IGNORED}),
    _W.PROCESSED: frozenset(),
    _W.IGNORED: frozenset(),
}

TABLES: Mapping[type[enum.Enum], Mapping] = {
    OrderStatus: ORDER_TRANSITIONS,
    PaymentStatus: PAYMENT_TRANSITIONS,
    RefundStatus: REFUND_TRANSITIONS,
    WebhookStatus: WEBHOOK_TRANSITIONS,
}


def can_transition(current: enum.Enum, new: enum.Enum) -> bool:
    return type(current) is type(new) and new in TABLES[type(current)][current]


def check_transition(current: enum.Enum, new: enum.Enum, what: str) -> None:
    """Raise ``IllegalTransition`` unless ``current -> new`` is in the table of its enum."""
    if type(current) is not type(new) or not can_transition(current, new):
        raise IllegalTransition(
            f"{what} cannot move from {current.value} to {new.value}",
            entity=what, current=current.value, requested=new.value,
        )
