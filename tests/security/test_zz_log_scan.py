"""Last in the battery (files run in name order): every log line the battery made, scanned for
card-number-like strings (Luhn-valid runs of 13-19 digits), gateway secrets (``sk_``, ``whsec_``,
``FLWSECK``), JWTs and Authorization headers -> hits 0. The figures of the whole battery are written
to ``tests/security/.figures.json`` (not committed) for docs/security.md."""
from __future__ import annotations

import json
import re
from pathlib import Path

from tests.security import (test_battery_access, test_battery_input, test_battery_schemathesis,
                            test_battery_webhooks)
from tests.security.conftest import SECRET, Logs

#: a run of 13-19 digits standing alone: digits inside a hex id (``gst_d2235657704029d6...``, 128
#: random bits) are Luhn-valid one time in ten, and are no card number
CARD = re.compile(r"(?<![0-9A-Za-z])(?:[0-9][ -]?){12,18}[0-9](?![0-9A-Za-z])")
SECRETS = re.compile(r"\b(sk_(?:test|live)_[A-Za-z0-9_]+|whsec_[A-Za-z0-9_]+|FLWSECK[A-Za-z0-9_-]*)")
JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
AUTHORIZATION = re.compile(r"(?i)\bauthorization\b['\"]?\s*[:=]\s*['\"]?\s*(bearer|basic)\s+\S+")
#: the battery's own secrets, which no line may carry either
KNOWN = [SECRET, "momo-callback-secret", "flw-battery-hash", "momo-key", "momo-sub", "admin-password-1",
         "correct horse battery"]


def luhn(number: str) -> bool:
    digits = [int(d) for d in re.sub(r"[^0-9]", "", number)]
    checksum = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
    return checksum % 10 == 0


def hits(lines: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"card numbers": [], "gateway secrets": [], "JWTs": [], "Authorization": [],
                                   "the battery's secrets": []}
    for line in lines:
        for match in CARD.finditer(line):
            digits = re.sub(r"[^0-9]", "", match.group())
            if 13 <= len(digits) <= 19 and luhn(digits):
                found["card numbers"].append(line[:200])
        if SECRETS.search(line):
            found["gateway secrets"].append(line[:200])
        if JWT.search(line):
            found["JWTs"].append(line[:200])
        if AUTHORIZATION.search(line):
            found["Authorization"].append(line[:200])
        if any(secret in line for secret in KNOWN):
            found["the battery's secrets"].append(line[:200])
    return found


def test_the_scanner_finds_what_it_looks_for():
    sample = ["card 4242 4242 4242 4242 paid", "key sk_test_abc123", "tok eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig",
              "headers {'Authorization': 'Bearer abc'}", "order 1234567890123 (not Luhn)",
              "user=gst_d2235657704029d632dc3e76 (an id)"]
    assert {kind: len(lines) for kind, lines in hits(sample).items()} == {
        "card numbers": 1, "gateway secrets": 1, "JWTs": 1, "Authorization": 1, "the battery's secrets": 0}


def test_no_log_line_of_the_battery_leaks_a_secret():
    lines = list(Logs.lines)
    assert len(lines) > 100  # the battery ran before this file, and logged
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    access = [entry for entry in entries if entry.get("logger") == "payport.access"]
    assert len(access) > 100  # the access lines are scanned too: one a request, with its request id
    assert all(entry["request_id"] and entry["route"] and entry["status"] for entry in access)
    found = hits(lines)
    figures = {"log lines scanned": len(lines), **{f"hits: {k}": len(v) for k, v in found.items()},
               "webhooks": test_battery_webhooks.FIGURES, "access": test_battery_access.FIGURES,
               "hostile input": test_battery_input.FIGURES, "schemathesis": test_battery_schemathesis.FIGURES}
    Path(__file__).with_name(".figures.json").write_text(json.dumps(figures, indent=1, default=str))
    assert {k: v for k, v in found.items() if v} == {}
