"""Shared HTTP plumbing for the gateway adapters: one session, explicit timeouts, error mapping.

Transport failures become our error types so callers can decide safely:
nothing sent -> ``GatewayUnavailable(retryable=True)``; sent but no answer, or a 2xx answer we
cannot read -> ``GatewayTimeout`` (outcome unknown: settle by a status query); 429/5xx ->
retryable ``GatewayError`` with the ``Retry-After`` seconds; other 4xx -> non-retryable
``GatewayError`` with the provider's message. Every ``GatewayError`` from an answer carries
``details["http_status"]``, ``["provider_code"]``, ``["provider_param"]`` and, where the adapter
says so, ``["repeat_failure"]`` (see ``application.ports.gateways.is_repeat_failure``).
"""
from __future__ import annotations

import hashlib
import hmac
import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import attrs

from adapters.gateways.config import HttpTimeouts
from application.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from domain.errors import DomainError

log = logging.getLogger("payport.gateways")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup on any mapping (plain dicts included)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def constant_time_equals(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        number = int(value) if value == value.to_integral_value() else float(value)
        if Decimal(str(number)) != value:  # never send an inexact amount
            raise ValueError(f"{value} is not exactly representable as a JSON number")
        return number
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(payload: Any) -> bytes:
    """JSON with exact Decimal amounts (major-unit gateways)."""
    return json.dumps(payload, default=_json_default, separators=(",", ":")).encode()


def loads(raw: bytes | str) -> Any:
    """JSON with floats parsed as Decimal, so major-unit amounts stay exact. A document nested too
    deeply to parse is a ValueError like any other malformed one (not a RecursionError)."""
    try:
        return json.loads(raw, parse_float=Decimal)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def convert_amount(convert: Callable[[Any, str], int], value: Any, currency: str | None) -> int | None:
    """Apply an adapter's from-gateway conversion; a malformed amount is a GatewayError, not None."""
    if value is None or not currency:
        return None
    try:
        return convert(value, currency)
    except (DomainError, ValueError, ArithmeticError, TypeError):
        raise GatewayError(f"unusable amount {value!r} {currency!r} from the gateway") from None


class TokenCache:
    """An access token reused until ``margin`` seconds before it expires; one fetch at a time."""

    def __init__(self, fetch: Callable[[], Awaitable[tuple[str, float]]], clock: Any,
                 margin: float = 60.0) -> None:
        self._fetch, self._clock, self._margin = fetch, clock, margin
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        async with self._lock:
            now = self._clock.now().timestamp()
            if self._token is None or now >= self._expires_at:
                token, ttl = await self._fetch()
                self._token, self._expires_at = token, now + max(0.0, ttl - self._margin)
            return self._token

    def invalidate(self) -> None:
        self._token = None


@attrs.frozen
class GatewayResponse:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or None for an empty / non-JSON body


def _default_message(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for key in ("message", "code", "status"):
            if isinstance(body.get(key), str):
                return body[key]
    return None


class HttpClient:
    """Requests for one gateway over a shared ``aiohttp.ClientSession`` (never one per call).

    ``repeat_failure(response)``: the adapter's test for an error answer that a repeat of an
    earlier call gets while that call may have been accepted (a 409 of that kind is retryable)."""

    def __init__(self, session: aiohttp.ClientSession, gateway: str, base_url: str,
                 timeouts: HttpTimeouts, *, secrets: Collection[str] = (), metrics: Any = None,
                 clock: Any = None, repeat_failure: Callable[[GatewayResponse], bool] | None = None
                 ) -> None:
        self.session = session
        self.gateway = gateway
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeouts.total, connect=timeouts.connect,
                                             sock_connect=timeouts.connect)
        self._secrets = [s for s in secrets if s]
        self.metrics = metrics
        self.clock = clock
        self.repeat_failure = repeat_failure

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def request(self, operation: str, method: str, path: str, *,
                      headers: Mapping[str, str] | None = None, json_body: Any = None,
                      form: Mapping[str, str] | None = None, params: Any = None,
                      accept: Collection[int] = ()) -> GatewayResponse:
        """Send one request. Statuses in ``accept`` are returned to the caller instead of raised."""
        hdrs = {"Accept": "application/json", **(headers or {})}
        data: Any = form
        if json_body is not None:
            data = dumps(json_body)
            hdrs["Content-Type"] = "application/json"
        started = time.perf_counter()
        outcome, result, readable = "cancelled", None, True
        try:
            async with self.session.request(method, self.base_url + path, headers=hdrs, data=data,
                                            params=params, timeout=self.timeout) as resp:
                raw = await resp.read()
                body, readable = _parse(raw)
                result = GatewayResponse(resp.status, dict(resp.headers), body)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            outcome = "unavailable"
            raise GatewayUnavailable(f"{self.gateway} unreachable ({type(exc).__name__})",
                                     retryable=True, gateway=self.gateway) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            outcome = "timeout"
            raise GatewayTimeout(f"{self.gateway} {operation}: no answer after sending "
                                 f"({type(exc).__name__}); outcome unknown",
                                 gateway=self.gateway) from None
        finally:
            if result is not None:
                outcome = _outcome(result.status, accept) if readable else "unreadable"
            self._record(operation, outcome, time.perf_counter() - started)
        if result.status < 400 and not readable:
            # the gateway answered, but we cannot tell what it did: as unknown as no answer
            raise GatewayTimeout(f"{self.gateway} {operation}: unreadable answer (HTTP {result.status}); "
                                 "outcome unknown", gateway=self.gateway, http_status=result.status)
        if result.status < 400 or result.status in accept:
            log.debug("%s %s %s -> %s", self.gateway, method, operation, result.status)
            return result
        raise self.error_for(operation, result)

    def error_for(self, operation: str, result: GatewayResponse) -> GatewayError:
        message = self.redact(_default_message(result.body) or f"HTTP {result.status}")
        status = result.status
        log.warning("%s %s -> HTTP %s: %s", self.gateway, operation, status, message)
        repeat = bool(self.repeat_failure and self.repeat_failure(result))
        retryable = status == 429 or status >= 500 or (repeat and status == 409)
        retry_after = self._retry_after(header(result.headers, "Retry-After")) if retryable else None
        details: dict[str, Any] = {"http_status": status, "provider_code": _provider_code(result.body)}
        if param := _provider_param(result.body):
            details["provider_param"] = param
        if repeat:
            details["repeat_failure"] = True
        return GatewayError(f"{self.gateway}: {message}", retryable=retryable,
                            retry_after=retry_after, gateway=self.gateway, **details)

    def _retry_after(self, value: str | None) -> float | None:
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        now = self.clock.now() if self.clock else datetime.now(UTC)
        return max(0.0, (when - now).total_seconds())

    def _record(self, operation: str, outcome: str, seconds: float) -> None:
        if self.metrics is None:
            return
        self.metrics.gateway_latency.labels(self.gateway, operation).observe(seconds)
        self.metrics.gateway_calls.labels(self.gateway, operation, outcome).inc()


def _outcome(status: int, accept: Collection[int]) -> str:
    if status < 400 or status in accept:
        return "ok"
    if status == 429:
        return "rate_limited"
    return "server_error" if status >= 500 else "client_error"


def _parse(raw: bytes) -> tuple[Any, bool]:
    """(parsed JSON or None, whether the body was readable: empty counts as readable)."""
    if not raw.strip():
        return None, True
    try:
        return loads(raw), True
    except ValueError:
        return None, False


def _provider_code(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return error.get("code") or error.get("type")
        code = body.get("code")
        return str(code) if code is not None else None
    return None


def _provider_param(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("param") if isinstance(error, dict) else None


def error_type(body: Any) -> str | None:
    """Stripe-style ``error.type`` of an error body."""
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("type") if isinstance(error, dict) else None


def payment_method_name(raw: Any) -> str | None:
    """The gateway's word for how the customer paid, in our few words where they are obvious."""
    if not raw:
        return None
    text = str(raw).strip().lower()
    if text in ("card", "cards", "credit_card", "debit_card"):
        return "card"
    if "mobile" in text or "momo" in text:
        return "mobile_money"
    if text in ("bank_transfer", "banktransfer", "transfer", "customer_balance", "pay_with_bank_transfer"):
        return "bank_transfer"
    return text


def canonical_id(prefix: str, payload: Any) -> str:
    """A stable event id for a gateway that sends none: the same for a re-serialized retry."""
    return prefix + hashlib.sha256(dumps_sorted(payload)).hexdigest()[:40]


def dumps_sorted(payload: Any) -> bytes:
    return json.dumps(payload, default=_json_default, separators=(",", ":"), sort_keys=True).encode()


async def http_session(limit: int = 100) -> AsyncIterator[aiohttp.ClientSession]:
    """The one outgoing HTTP session (a container Resource): bounded pool, no 300 s default timeout."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30, connect=5),
                                    connector=aiohttp.TCPConnector(limit=limit, ttl_dns_cache=300))
    try:
        yield session
    finally:
        await session.close()
