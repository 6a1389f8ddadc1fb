"""Helpers shared by the gateway tests: find what was sent, sign webhooks, fake transport errors."""
from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp.client_reqrep import ConnectionKey

from application.ports.gateways import InitializePayment, RefundPayment


def sent(m: Any, method: str, path: str) -> list[dict[str, Any]]:
    """kwargs of every request whose URL path ends with ``path`` (query ignored), in order."""
    out = []
    for (meth, url), calls in m.requests.items():
        if meth == method and url.path.endswith(path):
            out.extend(call.kwargs for call in calls)
    return out


def only(m: Any, method: str, path: str) -> dict[str, Any]:
    calls = sent(m, method, path)
    assert len(calls) == 1, f"{method} {path}: {len(calls)} calls"
    return calls[0]


def json_sent(kwargs: dict[str, Any]) -> Any:
    assert kwargs["headers"]["Content-Type"] == "application/json"
    return json.loads(kwargs["data"])


def count(m: Any) -> int:
    return sum(len(calls) for calls in m.requests.values())


def connect_refused() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("gateway.invalid", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


def payment(reference: str = "pay_ref_001", amount: int = 150050, currency: str = "NGN",
            **kw: Any) -> InitializePayment:
    defaults = dict(email="ada@example.com", phone=None, callback_url="https://shop.example/cb",
                    description="Order PP-1")
    defaults.update(kw)
    return InitializePayment(reference=reference, amount=amount, currency=currency, **defaults)


def refund_request(gateway_reference: str | None, amount: int = 5000, currency: str = "NGN",
                   reference: str = "pay_ref_001") -> RefundPayment:
    return RefundPayment(refund_id="rf_001", reference=reference, gateway_reference=gateway_reference,
                         amount=amount, currency=currency, reason="requested_by_customer")


def reserialized(body: bytes) -> bytes:
    return json.dumps(json.loads(body), indent=1).encode()
