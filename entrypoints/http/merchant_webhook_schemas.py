"""Bodies and answers of the merchant webhook admin routes. A signing secret appears in exactly two
answers: the endpoint just registered (``EndpointCreatedOut``) and the secret just rotated
(``SecretRotatedOut``); no list or detail ever carries one."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from application.ports.deliveries import DeliveryStatus
from domain import merchant_webhooks as mw
from entrypoints.http.schemas import Out, Strict

EventType = Literal[tuple(sorted(mw.EVENT_TYPES))]  # type: ignore[valid-type]
Events = Annotated[list[EventType], Field(min_length=1, max_length=len(mw.EVENT_TYPES),
                                          description="event types to receive (none given: all of them)")]
Url = Annotated[str, StringConstraints(min_length=8, max_length=2048, pattern=r"^https?://[^\s/?#@]+[^\s]*$"),
                Field(description="http(s) URL of the receiver; private, loopback and link-local addresses "
                                  "are refused unless PAYPORT_WEBHOOK_ALLOW_PRIVATE=on")]
Description = Annotated[str, StringConstraints(max_length=500)]


# -- bodies -------------------------------------------------------------------------------------
class EndpointIn(Strict):
    url: Url
    events: Events | None = None
    description: Description = ""


class EndpointPatchIn(Strict):
    """What to change; ``enabled: true`` turns on an endpoint disabled after failing."""

    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    enabled: bool | None = None


class RotateIn(Strict):
    overlap_hours: Annotated[float, Field(ge=0, le=168, description="hours the old secret keeps signing "
                                                                    "beside the new one (0: stop at once)")] = 24.0


# -- answers ------------------------------------------------------------------------------------
class EndpointOut(Out):
    id: str
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None
    failing_since: str | None
    #: how many secrets sign each message now (2 during a rotation's overlap window)
    signing_secrets: int
    #: when the secrets of an overlap window stop signing (None: no rotation under way)
    previous_secret_expires_at: str | None
    created_at: str
    updated_at: str


class EndpointCreatedOut(EndpointOut):
    secret: Annotated[str, Field(description="whsec_...: shown this once; verify deliveries with it")]


class SecretRotatedOut(EndpointOut):
    secret: Annotated[str, Field(description="the new whsec_... secret: shown this once")]


class AttemptOut(Out):
    attempt: int
    started_at: str
    latency_ms: int
    outcome: Literal["delivered", "failed", "dead"]
    status_code: int | None
    #: the receiver's answer (its first 500 characters) or why the attempt failed
    response: str | None


class DeliveryOut(Out):
    id: str
    endpoint_id: str
    webhook_id: str
    type: str
    status: DeliveryStatus
    attempts: int
    max_attempts: int
    next_attempt_at: str | None
    last_error: str | None
    created_at: str
    delivered_at: str | None
    message: dict
    attempt_log: list[AttemptOut]
