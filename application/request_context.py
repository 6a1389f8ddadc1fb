"""What the request being served says about its caller, for use cases that need more than the
principal (the fraud rules: the client's address). Set by the HTTP edge around a use case call;
None outside a request (the worker, the CLI)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CLIENT_IP: ContextVar[str | None] = ContextVar("payport_client_ip", default=None)


def client_ip() -> str | None:
    """The address of the client whose request is being served (trusted proxies resolved)."""
    return _CLIENT_IP.get()


@contextmanager
def serving(client_ip: str | None) -> Iterator[None]:
    token = _CLIENT_IP.set(client_ip)
    try:
        yield
    finally:
        _CLIENT_IP.reset(token)
