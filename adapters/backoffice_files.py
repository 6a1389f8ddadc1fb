"""The back office's configuration files: the fraud rules (``PAYPORT_FRAUD_FILE``) and the
analytics' exchange-rate table (``PAYPORT_EXCHANGE_RATES_FILE``), each JSON, each refused at start
with its variable named when it cannot work."""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from domain.errors import Failure
from domain.exchange import ExchangeRates
from domain.fraud import FraudRules

#: The rate table used until one is configured: example rates (units per US dollar), dated.
DEFAULT_RATES: dict[str, Any] = {
    "date": "2026-01-02", "base": "USD",
    "rates": {"NGN": "1530.00", "GHS": "15.40", "KES": "129.20", "ZAR": "18.60", "EUR": "0.9650", "GBP": "0.8030",
              "UGX": "3680", "RWF": "1395", "XOF": "633", "XAF": "633", "JPY": "157.3"},
}


def _read(path: str, variable: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{variable}={path}: cannot be read as JSON ({exc})") from None


def load_fraud_rules(path: str | None, block_above: Mapping[str, int]) -> FraudRules:
    """The rules of ``path`` (none: only the ``block_above`` amount caps)."""
    data = _read(path, "PAYPORT_FRAUD_FILE") if path else {}
    try:
        return FraudRules.from_dict(data, block_above)
    except Failure as exc:
        raise ValueError(f"PAYPORT_FRAUD_FILE={path}: {exc.message}") from None


def load_exchange_rates(path: str | None) -> ExchangeRates:
    """The table of ``path``, or the built-in example table (its ``source`` says so)."""
    if not path:
        return ExchangeRates.from_dict(DEFAULT_RATES, source="built-in example rates (set PAYPORT_EXCHANGE_RATES_FILE)")
    try:
        return ExchangeRates.from_dict(_read(path, "PAYPORT_EXCHANGE_RATES_FILE"), source=Path(path).name)
    except Failure as exc:
        raise ValueError(f"PAYPORT_EXCHANGE_RATES_FILE={path}: {exc.message}") from None
