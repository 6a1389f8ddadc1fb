"""Personal data and secrets taken out of what support staff are shown (webhook payloads, gateway
errors): the fields that name, reach or identify a person or a card, and anything shaped like a
secret, are replaced by ``"[redacted]"``. The ids, amounts, statuses and times stay."""
from __future__ import annotations

import json
import re
from typing import Any

REDACTED = "[redacted]"
#: words of a key (snake_case, camelCase, kebab-case, any case) whose value is never shown
_PERSONAL_WORDS = frozenset({
    "email", "phone", "msisdn", "mobile", "name", "firstname", "lastname", "fullname", "address", "line1", "line2",
    "postal", "zip", "city", "card", "pan", "bin", "last4", "cvv", "cvc", "expiry", "iban", "account",
    "authorization", "signature", "secret", "token", "password", "apikey", "ip", "device", "fingerprint",
    "payer", "payee", "party", "partyid", "dob", "birth", "bvn", "nin", "ssn", "passport",
})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _personal(key: str) -> bool:
    words = [w.lower() for w in _WORD.findall(key)]
    joined = "".join(words)
    return joined in _PERSONAL_WORDS or any(w in _PERSONAL_WORDS for w in words)


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_LONG_DIGITS = re.compile(r"\b\d[\d -]{10,}\d\b")  # card and phone numbers
_SECRETS = re.compile(r"\b(sk|pk|rk|whsec|FLWSECK|FLWPUBK)[_-][\w-]+", re.IGNORECASE)


def redact_text(text: str | None) -> str | None:
    """``text`` with e-mail addresses, long digit runs (card, phone numbers) and key-shaped secrets
    replaced."""
    if not text:
        return text
    text = _EMAIL.sub(REDACTED, text)
    text = _SECRETS.sub(REDACTED, text)
    return _LONG_DIGITS.sub(REDACTED, text)


def redact(value: Any) -> Any:
    """A JSON value with every personal field's value replaced, and strings cleaned as ``redact_text``."""
    if isinstance(value, dict):
        return {k: (REDACTED if _personal(str(k)) and v not in (None, "", [], {}) else redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_payload(raw: str) -> Any:
    """A stored webhook body for support: its JSON with personal data redacted, or (not JSON, a
    form body) the text cleaned."""
    try:
        return redact(json.loads(raw))
    except ValueError:
        return redact_text(raw)
