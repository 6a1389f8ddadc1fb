"""Settings for the real gateway adapters, read from the environment.

Secrets are ``repr=False`` and never leave ``describe()``. A gateway without its keys is disabled.
Items marked *unconfirmed* in ``reference/gateways.md`` are settings here, not constants.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


def _csv(value: str | None, default: frozenset[str]) -> frozenset[str]:
    if not value:
        return default
    return frozenset(v.strip().upper() for v in value.split(",") if v.strip())


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    return float(env[key]) if env.get(key) else default


def _bool(env: Mapping[str, str], key: str, default: bool = False) -> bool:
    if not env.get(key):
        return default
    return env[key].strip().lower() in {"1", "true", "yes", "on"}


@attrs.frozen
class HttpTimeouts:
    """Per-call limits (seconds): never aiohttp's 300 s default."""

    connect: float = 5.0
    total: float = 30.0


class _Describable:
    def describe(self) -> dict[str, Any]:
        """Configuration for health/admin output: booleans instead of secrets."""
        out: dict[str, Any] = {"enabled": self.enabled}  # type: ignore[attr-defined]
        for a in attrs.fields(type(self)):
            value = getattr(self, a.name)
            if not a.repr:
                out[f"{a.name}_set"] = bool(value)
            elif isinstance(value, frozenset):
                out[a.name] = sorted(value)
            elif isinstance(value, HttpTimeouts):
                out[a.name] = attrs.asdict(value)
            else:
                out[a.name] = value
        if not self.enabled:  # type: ignore[attr-defined]
            out["disabled_reason"] = self.disabled_reason  # type: ignore[attr-defined]
        return out


@attrs.frozen
class StripeSettings(_Describable):
    secret_key: str = attrs.field(default="", repr=False)
    webhook_secret: str = attrs.field(default="", repr=False)
    base_url: str = "https://api.stripe.com"
    api_version: str = "2024-06-20"
    webhook_tolerance: float = 300.0
    currencies: frozenset[str] = frozenset({"USD", "EUR", "GBP", "JPY"})
    timeouts: HttpTimeouts = HttpTimeouts()

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key and self.webhook_secret)

    disabled_reason = "STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are required"


@attrs.frozen
class PaystackSettings(_Describable):
    secret_key: str = attrs.field(default="", repr=False)
    base_url: str = "https://api.paystack.co"
    #: Subunits are confirmed for NGN, GHS, ZAR, USD only; add others (KES...) here once confirmed.
    currencies: frozenset[str] = frozenset({"NGN", "GHS", "ZAR", "USD"})
    timeouts: HttpTimeouts = HttpTimeouts()

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key)

    disabled_reason = "PAYSTACK_SECRET_KEY is required"


@attrs.frozen
class FlutterwaveSettings(_Describable):
    secret_key: str = attrs.field(default="", repr=False)
    secret_hash: str = attrs.field(default="", repr=False)
    base_url: str = "https://api.flutterwave.com"
    #: Also accept ``flutterwave-signature`` = base64(HMAC-SHA256(secret_hash, body)) (unconfirmed for v3).
    accept_hmac_signature: bool = False
    #: The supported-currency list is unconfirmed: keep it configurable.
    currencies: frozenset[str] = frozenset(
        {"NGN", "GHS", "KES", "UGX", "RWF", "XOF", "XAF", "ZAR", "USD", "EUR", "GBP"})
    timeouts: HttpTimeouts = HttpTimeouts(total=35.0)  # Flutterwave itself waits ~28 s before a 503

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key and self.secret_hash)

    disabled_reason = "FLUTTERWAVE_SECRET_KEY and FLUTTERWAVE_SECRET_HASH are required"


@attrs.frozen
class MomoSettings(_Describable):
    """MTN MoMo Collection, plus the optional Disbursement product used for refunds."""

    subscription_key: str = attrs.field(default="", repr=False)
    api_user: str = ""
    api_key: str = attrs.field(default="", repr=False)
    base_url: str = "https://sandbox.momodeveloper.mtn.com"
    target_environment: str = "sandbox"
    #: Our webhook URL; the adapter adds ``reference`` (and ``token``) query parameters.
    callback_url: str | None = None
    #: Keys the per-reference callback token (HMAC); without it callbacks carry no token.
    callback_secret: str = attrs.field(default="", repr=False)
    #: Send ``grant_type=client_credentials`` on token calls (MTN's SDK does; its error guide says
    #: no body): unconfirmed which is safer, so off by default.
    token_grant_type: bool = False
    token_refresh_margin: float = 60.0
    disbursement_subscription_key: str = attrs.field(default="", repr=False)
    disbursement_api_user: str = ""
    disbursement_api_key: str = attrs.field(default="", repr=False)
    currencies: frozenset[str] = frozenset({"UGX", "GHS", "XAF", "XOF", "RWF"})
    timeouts: HttpTimeouts = HttpTimeouts()

    @property
    def enabled(self) -> bool:
        return bool(self.subscription_key and self.api_user and self.api_key)

    @property
    def refunds_enabled(self) -> bool:
        return bool(self.disbursement_subscription_key and self.disbursement_api_user
                    and self.disbursement_api_key)

    disabled_reason = "MOMO_SUBSCRIPTION_KEY, MOMO_API_USER and MOMO_API_KEY are required"


GatewaySettings = StripeSettings | PaystackSettings | FlutterwaveSettings | MomoSettings


def _timeouts(env: Mapping[str, str], prefix: str, default: HttpTimeouts) -> HttpTimeouts:
    return HttpTimeouts(connect=_float(env, f"{prefix}_CONNECT_TIMEOUT", default.connect),
                        total=_float(env, f"{prefix}_TIMEOUT", default.total))


def gateway_settings_from_env(environ: Mapping[str, str]) -> dict[str, GatewaySettings]:
    """Settings for every real gateway, keyed by gateway name (disabled ones included)."""
    e = environ
    sandbox = e.get("MOMO_TARGET_ENVIRONMENT", "sandbox") == "sandbox"
    momo_currencies = frozenset({"EUR"}) if sandbox else MomoSettings().currencies  # sandbox: EUR only
    return {
        "stripe": StripeSettings(
            secret_key=e.get("STRIPE_SECRET_KEY", ""), webhook_secret=e.get("STRIPE_WEBHOOK_SECRET", ""),
            base_url=e.get("STRIPE_BASE_URL") or "https://api.stripe.com",
            api_version=e.get("STRIPE_API_VERSION") or "2024-06-20",
            webhook_tolerance=_float(e, "STRIPE_WEBHOOK_TOLERANCE", 300.0),
            currencies=_csv(e.get("STRIPE_CURRENCIES"), StripeSettings().currencies),
            timeouts=_timeouts(e, "STRIPE", HttpTimeouts())),
        "paystack": PaystackSettings(
            secret_key=e.get("PAYSTACK_SECRET_KEY", ""),
            base_url=e.get("PAYSTACK_BASE_URL") or "https://api.paystack.co",
            currencies=_csv(e.get("PAYSTACK_CURRENCIES"), PaystackSettings().currencies),
            timeouts=_timeouts(e, "PAYSTACK", HttpTimeouts())),
        "flutterwave": FlutterwaveSettings(
            secret_key=e.get("FLUTTERWAVE_SECRET_KEY", ""), secret_hash=e.get("FLUTTERWAVE_SECRET_HASH", ""),
            base_url=e.get("FLUTTERWAVE_BASE_URL") or "https://api.flutterwave.com",
            accept_hmac_signature=_bool(e, "FLUTTERWAVE_ACCEPT_HMAC_SIGNATURE"),
            currencies=_csv(e.get("FLUTTERWAVE_CURRENCIES"), FlutterwaveSettings().currencies),
            timeouts=_timeouts(e, "FLUTTERWAVE", HttpTimeouts(total=35.0))),
        "mtn_momo": MomoSettings(
            subscription_key=e.get("MOMO_SUBSCRIPTION_KEY", ""), api_user=e.get("MOMO_API_USER", ""),
            api_key=e.get("MOMO_API_KEY", ""),
            base_url=e.get("MOMO_BASE_URL") or "https://sandbox.momodeveloper.mtn.com",
            target_environment=e.get("MOMO_TARGET_ENVIRONMENT", "sandbox"),
            callback_url=e.get("MOMO_CALLBACK_URL") or None,
            callback_secret=e.get("MOMO_CALLBACK_SECRET", ""),
            token_grant_type=_bool(e, "MOMO_TOKEN_GRANT_TYPE"),
            disbursement_subscription_key=e.get("MOMO_DISBURSEMENT_SUBSCRIPTION_KEY", ""),
            disbursement_api_user=e.get("MOMO_DISBURSEMENT_API_USER", ""),
            disbursement_api_key=e.get("MOMO_DISBURSEMENT_API_KEY", ""),
            currencies=_csv(e.get("MOMO_CURRENCIES"), momo_currencies),
            timeouts=_timeouts(e, "MOMO", HttpTimeouts())),
    }
