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
    #: a person must decide: held by the fraud rules before any gateway call, or an outcome the
    #: gateway could not give us within the bound (the admin API lists these)
    REQUIRES_REVIEW = "requires_review"
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
#: Terminal, yet not the last word on money: the gateway may still capture on a page we could not
#: close in time (a late capture), which is recorded, never dropped.
UNPAID_ENDS = frozenset({_P.FAILED, _P.CANCELED, _P.EXPIRED})
_PAYMENT_ORDER = [_P.REQUIRES_PAYMENT_METHOD, _P.REQUIRES_ACTION, _P.PROCESSING]
# A live intent moves forward only (rpm -> requires_action -> processing) or ends in any terminal
# state: a success we learn about late (the init reply was lost) must still be recorded. Any live
# intent may be held for review, and a review ends in a terminal state or (fraud rules approved it)
# goes on to the gateway. An unpaid end moves once more, to succeeded, when the gateway verifies a
# capture made after it (the settlement asks the gateway before it takes that step).
PAYMENT_TRANSITIONS = transitions.table(PaymentStatus, {
    **{s: frozenset(_PAYMENT_ORDER[i + 1:]) | PAYMENT_TERMINAL | {_P.REQUIRES_REVIEW}
       for i, s in enumerate(_PAYMENT_ORDER)},
    _P.REQUIRES_REVIEW: {_P.REQUIRES_PAYMENT_METHOD, _P.REQUIRES_ACTION, _P.PROCESSING, *PAYMENT_TERMINAL},
    _P.SUCCEEDED: set(),
    **{s: {_P.SUCCEEDED} for s in UNPAID_ENDS},
})

_R = RefundStatus
# A refund the gateway refused may still have been paid out by an earlier attempt that it
# accepted: a success it reports later is recorded (and flagged), never dropped.
REFUND_TRANSITIONS = transitions.table(RefundStatus, {
    _R.PENDING: {_R.PROCESSING, _R.FAILED},
    _R.PROCESSING: {_R.SUCCEEDED, _R.FAILED},
    _R.SUCCEEDED: set(),
    _R.FAILED: {_R.SUCCEEDED},
})

#: How long an intent may take payment. The gateway's page closes no later (Stripe's own minimum is
#: 30 minutes from its creation, a few milliseconds after ours: the minute above it is the slack).
PAYMENT_WINDOW = timedelta(minutes=31)
#: When the worker first asks the gateway about a live intent nobody has heard of.
FIRST_CHECK = timedelta(minutes=2)
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
    #: as the gateway reports it (card, bank_transfer, mobile_money, ...), once it succeeded
    payment_method: str | None = None
    paid_at: datetime | None = None
    #: captured after our window, or after we had ended the intent: money we hold against the order
    late_capture: bool = False
    review_reason: str | None = None
    #: status queries the worker made, and when it asks next (backoff; None: not scheduled)
    checks: int = 0
    next_check_at: datetime | None = None
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
                   return_url=return_url, email=email, phone=phone, next_check_at=now + FIRST_CHECK)

    @property
    def is_terminal(self) -> bool:
        return self.status in PAYMENT_TERMINAL

    def _move(self, status: PaymentStatus, now: datetime) -> None:
        transitions.check_transition(self.status, status, "payment")
        self.status = status
        self.updated_at = now
        self.version += 1
        if status in _FORWARD:  # a live intent is asked about again if nothing is heard of it
            self.next_check_at = now + FIRST_CHECK

    @property
    def is_live(self) -> bool:
        """Waiting on the customer or the gateway (the worker follows it); not held for a person."""
        return self.status in _FORWARD

    @property
    def may_still_capture(self) -> bool:
        """Ended without our money, yet a capture the gateway verifies later is still recorded."""
        return self.status in UNPAID_ENDS

    def should_apply(self, status: PaymentStatus, *, verified: bool = False) -> bool:
        """Whether a gateway-reported ``status`` moves this intent: never backwards, never to the
        state it is in, never out of succeeded (late, duplicate and out-of-order events). An unpaid
        end (failed, canceled, expired) moves only to succeeded, and only on a report the gateway
        ``verified`` by a status query: a late capture is recorded, never dropped. A held intent
        leaves review only by a terminal outcome (or a person)."""
        if status is self.status or self.status is PaymentStatus.SUCCEEDED:
            return False
        if self.status in UNPAID_ENDS:
            return status is PaymentStatus.SUCCEEDED and verified
        if status in PAYMENT_TERMINAL:
            return True
        if PaymentStatus.REQUIRES_REVIEW in (status, self.status):
            return False
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

    def succeed(self, ctx: EventContext, captured: int, gateway_reference: str | None, now: datetime,
                payment_method: str | None = None) -> None:
        """The gateway captured ``captured``. Late when it comes after our window or after we ended
        the intent: still recorded, and the settlement applies it to the order or refunds it."""
        late = self.status in UNPAID_ENDS or now > self.expires_at
        self._move(PaymentStatus.SUCCEEDED, now)
        self.captured_amount = captured
        self.gateway_reference = gateway_reference or self.gateway_reference
        self.payment_method = payment_method or self.payment_method
        self.paid_at, self.late_capture = now, late
        self.review_reason = self.next_check_at = None
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
        self.next_check_at = None

    def expire(self, now: datetime) -> None:
        self._move(PaymentStatus.EXPIRED, now)
        self.next_check_at = None

    def hold_for_review(self, reason: str, now: datetime) -> None:
        """A person must decide (fraud rules, or an outcome the gateway would not give in time)."""
        self._move(PaymentStatus.REQUIRES_REVIEW, now)
        self.review_reason, self.next_check_at = reason, None

    def release_for_gateway(self, now: datetime) -> None:
        """A review approved before any gateway call: the initiation may go on to the gateway."""
        if self.status is not PaymentStatus.REQUIRES_REVIEW or self.attempts or self.gateway_reference:
            raise IllegalTransition("only a payment held before reaching its gateway can be released to it",
                                    entity="payment", current=self.status.value)
        self._move(PaymentStatus.REQUIRES_PAYMENT_METHOD, now)
        self.review_reason = None

    def schedule_check(self, now: datetime, after: timedelta) -> None:
        """The worker asked the gateway (or could not): ask again ``after`` from now."""
        self.checks += 1
        self.next_check_at = now + after
        self.updated_at, self.version = now, self.version + 1


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
    #: create calls sent to the gateway (recorded before each is sent), and when the worker looks next
    attempts: int = 0
    next_attempt_at: datetime | None = None
    #: a person must look (the gateway needs something, an outcome we cannot resolve, a late success)
    needs_attention: bool = False
    attention: str | None = None
    version: int = 0
    events: list = attrs.field(factory=list, eq=False, repr=False)

    @classmethod
    def request(cls, *, id: str, payment: PaymentIntent, existing: Iterable[Refund] | RefundAmounts,
                amount: int | None, reason: str, description: str | None, ctx: EventContext,
                now: datetime) -> Refund:
        """Reserve a refund against ``payment``; ``amount`` None means the whole refundable remainder.
        ``existing``: the payment's other refunds, or what they add up to."""
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
        self.gateway_refund_id = gateway_refund_id or self.gateway_refund_id

    @property
    def is_final(self) -> bool:
        return self.status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED)

    def sending(self, now: datetime, retry_after: timedelta) -> None:
        """About to send a create call to the gateway: counted first, so a crash after sending is
        known to have maybe reached it; the worker looks again ``retry_after`` from now."""
        self.attempts += 1
        self.next_attempt_at = now + retry_after
        self.updated_at, self.version = now, self.version + 1

    def schedule(self, now: datetime, after: timedelta) -> None:
        self.next_attempt_at = now + after
        self.updated_at, self.version = now, self.version + 1

    def flag(self, reason: str, now: datetime) -> None:
        """A person must look at this refund (listed for admins, counted, reported by reconcile)."""
        self.needs_attention, self.attention = True, reason
        self.updated_at, self.version = now, self.version + 1

    def succeed(self, ctx: EventContext, now: datetime) -> None:
        if self.status is RefundStatus.FAILED:  # paid out by an attempt the gateway accepted after all
            self.needs_attention = True
            self.attention = (f"the gateway reports this refund succeeded after it was recorded failed "
                              f"({self.last_error}): check the payment's refunded total")
        self._move(RefundStatus.SUCCEEDED, now)
        self.next_attempt_at = None
        self.events.append(events.RefundCompleted(
            **ctx.fields(now), refund_id=self.id, payment_id=self.payment_id, amount=self.amount,
            currency=self.currency,
        ))

    def fail(self, ctx: EventContext, error: str | None, now: datetime) -> None:
        self._move(RefundStatus.FAILED, now)
        self.last_error, self.next_attempt_at = error, None
        self.events.append(events.RefundFailed(
            **ctx.fields(now), refund_id=self.id, payment_id=self.payment_id, amount=self.amount,
            currency=self.currency, error=error,
        ))


@attrs.frozen
class RefundAmounts:
    """What a payment's refunds add up to: ``reserved``, every refund that has not failed (pending
    ones included); ``refunded``, the succeeded ones. What a store sums for a payment without
    reading each of its refunds."""

    reserved: int = 0
    refunded: int = 0

    @classmethod
    def of(cls, refunds: Iterable[Refund]) -> RefundAmounts:
        reserved = refunded = 0
        for r in refunds:
            if r.status is not RefundStatus.FAILED:
                reserved += r.amount
                if r.status is RefundStatus.SUCCEEDED:
                    refunded += r.amount
        return cls(reserved, refunded)


def refundable_amount(captured: int, refunds: Iterable[Refund] | RefundAmounts) -> int:
    """Captured minus every refund that has not failed (pending ones included: they are reserved)."""
    amounts = refunds if isinstance(refunds, RefundAmounts) else RefundAmounts.of(refunds)
    return max(captured - amounts.reserved, 0)


def refunded_amount(refunds: Iterable[Refund]) -> int:
    return RefundAmounts.of(refunds).refunded


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
