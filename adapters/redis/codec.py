"""JSON codec for ``domain.checkout.CheckoutSession`` (exact round trip, versioned)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
import orjson

from domain.checkout import CheckoutSession, LineItem
from domain.places import Address
from domain.pricing import ShippingMethod

VERSION = 1
_DATETIMES = ("created_at", "updated_at", "expires_at")
_FIELDS = tuple(f.name for f in attrs.fields(CheckoutSession))


class SessionDecodeError(ValueError):
    """Stored bytes are not a checkout session this code understands."""


def session_to_dict(session: CheckoutSession) -> dict[str, Any]:
    """Plain JSON types only. Scalar fields are copied by name, so a new int/str/bool field of
    ``CheckoutSession`` round-trips without touching this module; structured ones are listed."""
    data: dict[str, Any] = {name: getattr(session, name) for name in _FIELDS}
    data["items"] = [attrs.asdict(item) for item in session.items]
    data["address"] = attrs.asdict(session.address) if session.address is not None else None
    data["shipping_method"] = session.shipping_method.value if session.shipping_method is not None else None
    for name in _DATETIMES:
        data[name] = getattr(session, name).isoformat()
    data["v"] = VERSION
    return data


def session_from_dict(data: dict[str, Any]) -> CheckoutSession:
    """Inverse of ``session_to_dict``. Unknown keys (written by a newer release) are ignored."""
    if data.get("v") != VERSION:
        raise SessionDecodeError(f"unsupported checkout session version {data.get('v')!r}")
    fields = {name: data[name] for name in _FIELDS if name in data}
    fields["items"] = [LineItem(**_known(LineItem, item)) for item in data["items"]]
    if data.get("address") is not None:
        fields["address"] = Address(**_known(Address, data["address"]))
    if data.get("shipping_method") is not None:
        fields["shipping_method"] = ShippingMethod(data["shipping_method"])
    for name in _DATETIMES:
        fields[name] = datetime.fromisoformat(data[name])
    return CheckoutSession(**fields)


def encode_session(session: CheckoutSession) -> bytes:
    return orjson.dumps(session_to_dict(session))


def decode_session(raw: bytes) -> CheckoutSession:
    try:
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise SessionDecodeError("a checkout session is a JSON object")
        return session_from_dict(data)
    except SessionDecodeError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SessionDecodeError(f"malformed checkout session: {exc}") from exc


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in attrs.fields(cls)}
    return {k: v for k, v in data.items() if k in names}
