"""Merchant webhooks: endpoints a shop's backend registers to hear of orders, payments and refunds.

Messages follow the Standard Webhooks specification (https://www.standardwebhooks.com): headers
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (space-separated
``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, one per signing secret). A secret is
``whsec_`` followed by the base64 of its key bytes. During a rotation's overlap window both the new
and the old secret sign, so a receiver that still holds the old one keeps verifying.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import attrs

SECRET_PREFIX = "whsec_"

#: Public event types an endpoint may subscribe to, and the domain events (``DomainEvent.name``)
#: each one is made of. Extend as the domain grows.
EVENT_TYPES: Mapping[str, tuple[str, ...]] = {
    "order.created": ("ORDER_CREATED",),
    "order.paid": ("PAYMENT_COMPLETED",),
    "order.cancelled": ("ORDER_CANCELLED",),
    "order.completed": ("ORDER_COMPLETED",),
    "payment.succeeded": ("PAYMENT_COMPLETED",),
    "payment.failed": ("PAYMENT_FAILED",),
    "refund.succeeded": ("REFUND_COMPLETED",),
    "refund.failed": ("REFUND_FAILED",),
}
#: The synthetic event the test endpoint sends.
TEST_EVENT = "webhook.test"

#: Seconds after the first attempt at which each retry is due (Stripe-like: exponential, about
#: three days in all). Attempt n+1 is due ``RETRY_SCHEDULE[n-1]`` seconds after attempt 1.
RETRY_SCHEDULE: tuple[int, ...] = (
    5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 24 * 3600, 48 * 3600, 72 * 3600,
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
#: An endpoint whose deliveries have all failed for this long is disabled.
DISABLE_AFTER = timedelta(days=3)


def event_types_for(domain_event_name: str) -> list[str]:
    """The public event types a domain event produces (none for events merchants do not hear of)."""
    return [public for public, names in EVENT_TYPES.items() if domain_event_name in names]


def message_id(event_id: str, event_type: str) -> str:
    """The ``webhook-id`` of the message ``event_type`` made of one domain event (the same however
    often the event is relayed: a receiver deduplicates on it)."""
    return f"msg_{event_id}_{event_type}"


def dedup_key(msg_id: str, endpoint_id: str) -> str:
    """One delivery of a message per endpoint."""
    return f"{msg_id}:{endpoint_id}"


def delivery_id(key: str) -> str:
    """The delivery's id, derived from its dedup key (``'dlv_' || left(md5(key), 24)`` in SQL)."""
    return "dlv_" + hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()[:24]


def unknown_event_types(types: Sequence[str]) -> list[str]:
    return [t for t in types if t not in EVENT_TYPES]


def retry_delay(attempt: int) -> float:
    """Seconds between attempt ``attempt`` (1-based, just failed) and the next one."""
    if attempt < 1 or attempt > len(RETRY_SCHEDULE):
        raise ValueError(f"no retry after attempt {attempt}")
    previous = RETRY_SCHEDULE[attempt - 2] if attempt >= 2 else 0
    return float(RETRY_SCHEDULE[attempt - 1] - previous)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a signing secret starts with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX):])


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<signature>`` entry of the ``webhook-signature`` header."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one message signed with every one of ``secrets_``."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets_),
        "content-type": "application/json",
    }


@attrs.frozen
class SigningSecret:
    value: str = attrs.field(repr=False)
    created_at: datetime
    #: None while current; set to the end of the overlap window once rotated out
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


@attrs.define
class Endpoint:
    id: str
    url: str
    events: list[str]
    description: str
    enabled: bool
    secrets: list[SigningSecret] = attrs.field(repr=False)
    created_at: datetime
    updated_at: datetime
    #: why it was disabled automatically (None when enabled, or disabled by an admin)
    disabled_reason: str | None = None
    #: first failure of the current run of failures (None after a success)
    failing_since: datetime | None = None

    @classmethod
    def new(cls, id: str, url: str, events: Sequence[str], description: str, now: datetime) -> Endpoint:
        return cls(id, url, list(events), description, True, [SigningSecret(new_secret(), now)], now, now)

    @property
    def secret(self) -> str:
        """The current secret (the one a rotation just made)."""
        return self.secrets[-1].value

    def signing_secrets(self, now: datetime) -> list[str]:
        """Every secret that signs now: the current one and those still in their overlap window."""
        return [s.value for s in self.secrets if s.active(now)]

    def rotate(self, now: datetime, overlap: timedelta) -> str:
        """A new current secret; the older ones keep signing until ``now + overlap``."""
        ends = now + overlap
        kept = [attrs.evolve(s, expires_at=min(ends, s.expires_at or ends)) for s in self.secrets if s.active(now)]
        self.secrets = [*kept, SigningSecret(new_secret(), now)]
        self.updated_at = now
        return self.secret

    def wants(self, event_type: str) -> bool:
        return self.enabled and (event_type in self.events or event_type == TEST_EVENT)

    def succeeded(self, now: datetime) -> None:
        self.failing_since = None

    def failed(self, now: datetime, gone: bool = False) -> bool:
        """Note a failed delivery; True when it disabled the endpoint (410 Gone, or failing for days)."""
        if self.failing_since is None:
            self.failing_since = now
        if not self.enabled:
            return False
        if gone:
            self.disable(now, "the receiver answered 410 Gone")
            return True
        if now - self.failing_since >= DISABLE_AFTER:
            self.disable(now, f"every delivery failed since {self.failing_since.isoformat()}")
            return True
        return False

    def disable(self, now: datetime, reason: str | None) -> None:
        self.enabled, self.disabled_reason, self.updated_at = False, reason, now

    def enable(self, now: datetime) -> None:
        self.enabled, self.disabled_reason, self.failing_since, self.updated_at = True, None, None, now
