"""Payment intents, refunds and the ledger."""
from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from domain import events, transitions
from domain.errors import IllegalTransition, InvalidValue, RefundExceedsCaptured, RefundNotAllowed
from domain.money import Money
from domain.orders import EventContext


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


class TransactionType(str, enum.Enum):
    PAYMENT = "payment"
    REFUND = "refund"


class TransactionStatus(str, enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"


_P = PaymentStatus
PAYMENT_TERMINAL = frozenset({_P.SUCCEEDED, _P.FAILED, _P.CANCELED, _P.EXPIRED})
_PAYMENT_ORDER = [_P.REQUIRES_PAYMENT_METHOD, _P.REQUIRES_ACTION, _P.PROCESSING]
# A non-terminal intent moves forward only (rpm -> requires_action -> processing) or ends in any
# terminal state: a success we learn about late (the init reply was lost) must still be recorded.
PAYMENT_TRANSITIONS = transitions.table(PaymentStatus, {
    **{s: frozenset(_PAYMENT_ORDER[i + 1:]) | PAYMENT_TERMINAL for i, s in enumerate(_PAYMENT_ORDER)},
    **{s: frozenset() for s in PAYMENT_TERMINAL},
})

_R = RefundStatus
REFUND_TRANSITIONS = transitions.table(RefundStatus, {
    _R.PENDING: {_R.PROCESSING, _R.FAILED},
    _R.PROCESSING: {_R.SUCCEEDED, _R.FAILED},
    _R.SUCCEEDED: set(),
    _R.FAILED: set(),
})

PAYMENT_WINDOW = timedelta(minutes=30)
_FORWARD = [PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.REQUIRES_ACTION, PaymentStatus.PROCESSING]


@attrs.define
class PaymentIntent:
    id: str
    order_id: str
    owner_id: str
    amount: int
    currency: str
    gateway: str
    reference: str
    status: PaymentStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    gateway_reference: str | None = None
    authorization_url: str | None = None
    return_url: str | None = None
    email: str | None = None
    phone: str | None = None
    attempts: int = 0
    last_error: str | None = None
    captured_amount: int = 0
    version: int = 0
    events: list = attrs.field(factory=list, eq=False, repr=False)

    @classmethod
    def create(cls, *, id: str, order_id: str, owner_id: str, amount: int, currency: str, gateway: str,
               reference: str, now: datetime, return_url: str | None = None, email: str | None = None,
               phone: str | None = None) -> PaymentIntent:
        if not Money(amount, currency).is_positive():
            raise InvalidValue("a payment must be for a positive amount", amount=amount)
        return cls(id=id, order_id=order_id, owner_id=owner_id, amount=amount, currency=currency,
                   gateway=gateway, reference=reference, status=PaymentStatus.REQUIRES_PAYMENT_METHOD,
                   created_at=now, updated_at=now, expires_at=now + PAYMENT_WINDOW,
                   return_url=return_url, email=email, phone=phone)

    @property
    def is_terminal(self) -> bool:
        return self.status in PAYMENT_TERMINAL

    def _move(self, status: PaymentStatus, now: datetime) -> None:
        transitions.check_transition(self.status, status, "payment")
        self.status = status
        self.updated_at = now
        self.version += 1

    def should_apply(self, status: PaymentStatus) -> bool:
        """Whether a gateway-reported ``status`` moves this intent: never backwards, never out of a
        terminal state, never to the state it is in (late, duplicate and out-of-order events)."""
        if self.is_terminal or status is self.status:
            return False
        if status in PAYMENT_TERMINAL:
            return True
        return _FORWARD.index(status) > _FORWARD.index(self.status)

    def started(self, ctx: EventContext, gateway_reference: str | None, authorization_url: str | None,
                status: PaymentStatus, now: datetime) -> None:
        """The gateway accepted the initialization."""
        if self.is_terminal:
            raise IllegalTransition(f"payment is {self.status.value}; it cannot start again",
                                    entity="payment", current=self.status.value, requested=status.value)
        if status is not self.status:
            self._move(status, now)
        else:
            self.updated_at, self.version = now, self.version + 1
        self.gateway_reference = gateway_reference or self.gateway_reference
        self.authorization_url = authorization_url
        self.attempts += 1
        self.events.append(events.PaymentInitiated(
            **ctx.fields(now), payment_id=self.id, amount=self.amount, currency=self.currency,
            gateway=self.gateway, reference=self.reference,
        ))

    def mark(self, status: PaymentStatus, now: datetime) -> None:
        """Move to a non-terminal ``status`` (e.g. processing after an unknown outcome)."""
        self._move(status, now)

    def succeed(self, ctx: EventContext, captured: int, gateway_reference: str | None, now: datetime) -> None:
        self._move(PaymentStatus.SUCCEEDED, now)
        self.captured_amount = captured
        self.gateway_reference = gateway_reference or self.gateway_reference
        self.events.append(events.PaymentCompleted(
            **ctx.fields(now), payment_id=self.id, amount=captured, currency=self.currency,
            gateway=self.gateway, gateway_reference=self.gateway_reference,
        ))

    def fail(self, ctx: EventContext, error: str | None, now: datetime) -> None:
        self._move(PaymentStatus.FAILED, now)
        self.last_error = error
        self.events.append(events.PaymentFailed(
            **ctx.fields(now), payment_id=self.id, amount=self.amount, currency=self.currency,
            gateway=self.gateway, error=error,
        ))

    def cancel(self, now: datetime) -> None:
        self._move(PaymentStatus.CANCELED, now)

    def expire(self, now: datetime) -> None:
        self._move(PaymentStatus.EXPIRED, now)


@attrs.define
class Refund:
    id: str
    payment_id: str
    order_id: str
    owner_id: str
    amount: int
    currency: str
    reason: str
    status: RefundStatus
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    gateway_refund_id: str | None = None
    last_error: str | None = None
    version: int = 0
    events: list = attrs.field(factory=list, eq=False, repr=False)

    @classmethod
    def request(cls, *, id: str, payment: PaymentIntent, existing: Iterable[Refund], amount: int | None,
                reason: str, description: str | None, ctx: EventContext, now: datetime) -> Refund:
        """Reserve a refund against ``payment``; ``amount`` None means the whole refundable remainder."""
        if payment.status is not PaymentStatus.SUCCEEDED:
            raise RefundNotAllowed("only a succeeded payment can be refunded", status=payment.status.value)
        remaining = refundable_amount(payment.captured_amount, existing)
        if amount is None:
            amount = remaining
        if type(amount) is not int or amount <= 0:
            if remaining == 0:
                raise RefundExceedsCaptured("this payment has been refunded in full", refundable=0)
            raise InvalidValue("a refund must be for a positive amount", amount=amount)
        if amount > remaining:
            raise RefundExceedsCaptured(
                f"at most {remaining} {payment.currency} of this payment can still be refunded",
                refundable=remaining, requested=amount,
            )
        refund = cls(id=id, payment_id=payment.id, order_id=payment.order_id, owner_id=payment.owner_id,
                     amount=amount, currency=payment.currency, reason=reason, status=RefundStatus.PENDING,
                     created_at=now, updated_at=now, description=description)
        refund.events.append(events.RefundRequested(
            **ctx.fields(now), refund_id=id, payment_id=payment.id, amount=amount, currency=payment.currency,
            reason=reason, description=description,
        ))
        return refund

    def _move(self, status: RefundStatus, now: datetime) -> None:
        transitions.check_transition(self.status, status, "refund")
        self.status = status
        self.updated_at = now
        self.version += 1

    def mark_processing(self, gateway_refund_id: str | None, now: datetime) -> None:
        self._move(RefundStatus.PROCESSING, now)
        self.gateway_refund_id = gateway_refund_id

    def succeed(self, ctx: EventContext, now: datetime) -> None:
        self._move(RefundStatus.SUCCEEDED, now)
        self.events.append(events.RefundCompleted(
            **ctx.fields(now), refund_id=self.id, payment_id=self.payment_id, amount=self.amount,
            currency=self.currency,
        ))

    def fail(self, ctx: EventContext, error: str | None, now: datetime) -> None:
        self._move(RefundStatus.FAILED, now)
        self.last_error = error
        self.events.append(events.RefundFailed(
            **ctx.fields(now), refund_id=self.id, payment_id=self.payment_id, amount=self.amount,
            currency=self.currency, error=error,
        ))


def refundable_amount(captured: int, refunds: Iterable[Refund]) -> int:
    """Captured minus every refund that has not failed (pending ones included: they are reserved)."""
    reserved = sum(r.amount for r in refunds if r.status is not RefundStatus.FAILED)
    return max(captured - reserved, 0)


def refunded_amount(refunds: Iterable[Refund]) -> int:
    return sum(r.amount for r in refunds if r.status is RefundStatus.SUCCEEDED)


@attrs.frozen
class Transaction:
    """A ledger row: append-only; every money movement writes one."""

    id: str
    payment_id: str
    order_id: str
    type: TransactionType
    amount: int
    currency: str
    status: TransactionStatus
    gateway: str
    processed_at: datetime
    gateway_reference: str | None = None
    refund_id: str | None = None
    reconciled: bool = False
