"""Sending merchant webhooks over HTTP, guarded against server-side request forgery.

An endpoint's host is resolved, and every address it resolves to must be public (not private,
loopback, link-local, multicast, reserved or unspecified) unless private addresses are allowed
(``PAYPORT_WEBHOOK_ALLOW_PRIVATE=on``). The check runs at registration and again at every
delivery, inside the connection's own resolver, so the address connected to is the one checked
(a DNS answer that changes between check and connect, "rebinding", gains nothing). Redirects are
never followed: a 3xx answer is a failed attempt.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

#: How many characters of a receiver's answer are kept in the delivery log.
SNIPPET_LIMIT = 500
#: Seconds a registration waits for the URL's host to resolve.
RESOLVE_TIMEOUT = 5.0


class UnsafeAddress(ValueError):
    """The URL is not one payport may call."""


def address_refused(address: str) -> str | None:
    """Why ``address`` may not be called without the private-address setting (None: it is public)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag in ("is_loopback", "is_private", "is_link_local", "is_multicast", "is_reserved", "is_unspecified"):
        if getattr(ip, flag):
            return f"{ip} is a {flag[3:].replace('_', '-')} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def check_url_shape(url: str) -> tuple[str, int]:
    """The host and port of an http(s) URL, or UnsafeAddress."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddress("the URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise UnsafeAddress("the URL may not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeAddress("the URL's port is not a number") from exc
    return parts.hostname, port


def _refuse_literal(host: str) -> None:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return  # a name: the resolver checks what it resolves to
    reason = address_refused(host.strip("[]"))
    if reason:
        raise UnsafeAddress(reason)


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses hosts resolving to any non-public address."""

    def __init__(self, allow_private: bool, inner: AbstractResolver | None = None) -> None:
        self.allow_private = allow_private
        self.inner = inner or DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[dict[str, Any]]:
        answers = await self.inner.resolve(host, port, family)
        if not self.allow_private:
            for answer in answers:
                reason = address_refused(answer["host"])
                if reason:
                    raise UnsafeAddress(f"{host} resolves to {reason}")
        return answers

    async def close(self) -> None:
        await self.inner.close()


async def check_url(url: str, allow_private: bool, resolver: AbstractResolver | None = None) -> None:
    """Refuse (UnsafeAddress) a URL that is not http(s) or whose host resolves to a non-public address."""
    host, port = check_url_shape(url)
    if allow_private:
        return
    guard = GuardedResolver(False, resolver)
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            await guard.resolve(host, port, socket.AF_UNSPEC)
    except UnsafeAddress:
        raise
    except TimeoutError as exc:
        raise UnsafeAddress(f"{host} did not resolve within {RESOLVE_TIMEOUT:g} s") from exc
    except OSError as exc:
        raise UnsafeAddress(f"{host} does not resolve") from exc


class SendResult:
    __slots__ = ("status_code", "snippet", "latency_ms", "error")

    def __init__(self, status_code: int | None, snippet: str | None, latency_ms: int, error: str | None) -> None:
        self.status_code, self.snippet, self.latency_ms, self.error = status_code, snippet, latency_ms, error

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


class WebhookHttpClient:
    """POSTs one signed message; never follows a redirect, never connects to a refused address."""

    def __init__(self, allow_private: bool, timeout: float = 10.0) -> None:
        self.allow_private, self.timeout = allow_private, timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.allow_private), use_dns_cache=False)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        started = time.monotonic()

        def elapsed() -> int:
            return max(0, round((time.monotonic() - started) * 1000))
        try:
            host, _ = check_url_shape(url)
            if not self.allow_private:
                _refuse_literal(host)  # aiohttp connects to an IP literal without asking the resolver
            async with self._client().post(url, data=body, headers=dict(headers), allow_redirects=False,
                                           timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                text = (await response.content.read(SNIPPET_LIMIT * 4)).decode("utf-8", "replace")[:SNIPPET_LIMIT]
                error = None
                if 300 <= response.status < 400:
                    error = f"redirect ({response.status}) not followed"
                elif not 200 <= response.status < 300:
                    error = f"answered {response.status}"
                return SendResult(response.status, text, elapsed(), error)
        except UnsafeAddress as exc:
            return SendResult(None, None, elapsed(), f"refused: {exc}")
        except aiohttp.ClientConnectorError as exc:
            cause = exc.os_error
            if isinstance(cause, UnsafeAddress):
                return SendResult(None, None, elapsed(), f"refused: {cause}")
            return SendResult(None, None, elapsed(), f"could not connect: {type(cause).__name__}")
        except (TimeoutError, asyncio.TimeoutError):
            return SendResult(None, None, elapsed(), f"no answer within {self.timeout:g} s")
        except aiohttp.ClientError as exc:
            return SendResult(None, None, elapsed(), f"{type(exc).__name__}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
