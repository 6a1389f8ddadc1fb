"""The webhook inbox entry and the gateway-neutral event parsed from it."""
from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from domain import transitions
from domain.payments import PaymentStatus, RefundStatus


class WebhookStatus(str, enum.Enum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"
    IGNORED = "ignored"


_W = WebhookStatus
WEBHOOK_TRANSITIONS = transitions.table(WebhookStatus, {
    _W.RECEIVED: {_W.PROCESSED, _W.FAILED, _W.IGNORED},
    _W.FAILED: {_W.PROCESSED, _W.FAILED, _W.IGNORED},
    _W.PROCESSED: set(),
    _W.IGNORED: set(),
})


@attrs.frozen
class GatewayEvent:
    """A gateway's webhook in our terms.

    ``event_id`` is the gateway's id or one derived from the payload (dedup key with the gateway).
    ``reference`` is OUR payment reference when the event names it. ``status`` is the payment status
    it reports (None: not a payment outcome). Refund events set ``refund_status`` and, where the
    gateway echoes it, ``refund_id`` (ours) / ``gateway_refund_id``. ``amount`` is in minor units.
    ``needs_confirmation``: the event cannot be trusted alone (weak or no signature): confirm with
    the gateway's verify call before moving money.
    ``refund_lookup``: a refund of the payment ``reference`` changed, but the event does not say
    which one of ours (Paystack refund events carry no refund id; Stripe ``charge.refunded`` no
    longer lists its refunds): find it with the gateway's ``lookup_refund`` (or by amount among
    the payment's open refunds). ``refund_needs_attention``: the refund is stuck until a person
    acts (Paystack ``refund.needs-attention``). ``error``: the gateway's reason, when it gives one.
    """

    event_id: str
    type: str
    reference: str | None
    gateway_reference: str | None = None
    status: PaymentStatus | None = None
    amount: int | None = None
    currency: str | None = None
    needs_confirmation: bool = False
    refund_status: RefundStatus | None = None
    refund_id: str | None = None
    gateway_refund_id: str | None = None
    refund_lookup: bool = False
    refund_needs_attention: bool = False
    error: str | None = None


@attrs.define
class WebhookEvent:
    id: str
    gateway: str
    event_id: str
    type: str
    payload: str
    signature_ok: bool
    status: WebhookStatus
    received_at: datetime
    reference: str | None = None
    #: The payment status the event reported when received (what reconciliation cross-checks).
    reported_status: str | None = None
    attempts: int = 0
    last_error: str | None = None
    processed_at: datetime | None = None
    #: when the worker retries a failed one (None: as soon as it can)
    next_attempt_at: datetime | None = None
    version: int = 0

    def _move(self, status: WebhookStatus, now: datetime) -> None:
        transitions.check_transition(self.status, status, "webhook event")
        self.status = status
        self.version += 1

    def processed(self, now: datetime) -> None:
        self._move(WebhookStatus.PROCESSED, now)
        self.attempts += 1
        self.processed_at = now
        self.last_error = None

    def ignored(self, now: datetime, why: str) -> None:
        self._move(WebhookStatus.IGNORED, now)
        self.attempts += 1
        self.processed_at = now
        self.last_error = why

    def failed(self, now: datetime, error: str, retry_in: timedelta = timedelta(0)) -> None:
        self._move(WebhookStatus.FAILED, now)
        self.attempts += 1
        self.last_error = error
        self.next_attempt_at = now + retry_in
