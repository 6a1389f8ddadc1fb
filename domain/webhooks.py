"""The webhook inbox entry and the gateway-neutral event parsed from it."""
from __future__ import annotations

from datetime import datetime

import attrs

from domain.states import PaymentStatus, WebhookStatus, check_transition


@attrs.frozen
class GatewayEvent:
    """A gateway's webhook in our terms. ``status`` None: an event we store but do not act on."""

    event_id: str
    type: str
    reference: str | None
    gateway_reference: str | None = None
    status: PaymentStatus | None = None
    amount: int | None = None
    currency: str | None = None
    needs_confirmation: bool = False


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
    attempts: int = 0
    last_error: str | None = None
    processed_at: datetime | None = None
    version: int = 0

    def _move(self, status: WebhookStatus, now: datetime) -> None:
        check_transition(self.status, status, "webhook event")
        self.status = status
        self.version += 1

    def processed(self, now: datetime) -> None:
        self.attempts += 1
        self._move(WebhookStatus.PROCESSED, now)
        self.processed_at = now
        self.last_error = None

    def ignored(self, now: datetime, why: str) -> None:
        self.attempts += 1
        self._move(WebhookStatus.IGNORED, now)
        self.processed_at = now
        self.last_error = why

    def failed(self, now: datetime, error: str) -> None:
        self.attempts += 1
        self._move(WebhookStatus.FAILED, now)
        self.last_error = error
