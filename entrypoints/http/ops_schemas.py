"""Response bodies of the ops, admin and webhook routes."""
from __future__ import annotations

from typing import Literal

from entrypoints.http.schemas import Out


class LiveOut(Out):
    status: Literal["ok"]


class ReadyOut(Out):
    status: Literal["ok", "unavailable"]
    #: each adapter's probe: ``ok``, or ``down: <error>``
    checks: dict[str, str]


class OpenApiOut(Out):
    openapi: str
    info: dict
    paths: dict
    components: dict


class BreakerOut(Out):
    state: Literal["closed", "open", "half_open"]
    #: the rest only for a gateway behind a circuit breaker
    gateway: str | None = None
    consecutive_failures: int | None = None
    retry_in_seconds: float | None = None


class GatewayOut(Out):
    name: str
    enabled: Literal[True]
    breaker: BreakerOut
    currencies: list[str]
    calls: dict[str, int]
    successes: int
    failures: int
    mean_latency_ms: float | None


class DisabledGatewayOut(Out):
    name: str
    enabled: Literal[False]
    reason: str | None


class GatewaysOut(Out):
    gateways: list[GatewayOut | DisabledGatewayOut]


class FailedWebhookOut(Out):
    id: str
    gateway: str
    event_id: str
    type: str
    reference: str | None
    attempts: int
    last_error: str | None
    received_at: str
    #: when the worker tries it again (null: it waits for a person, after its last attempt)
    next_attempt_at: str | None


class FailedWebhooksOut(Out):
    results: list[FailedWebhookOut]
    next_cursor: str | None


class FindingOut(Out):
    kind: str
    subject: str
    detail: str


class ReconciliationOut(Out):
    findings: list[FindingOut]
    #: the window the pass covered: every row of each walk (rows per walk), as of ``as_of``
    covered: dict[str, int]
    as_of: str


class WebhookReceivedOut(Out):
    received: Literal[True]
    #: what processing made of it (``processed``, ``ignored``, ``failed``...), or ``duplicate``
    status: str
