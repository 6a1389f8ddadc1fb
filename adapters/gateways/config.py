"""Settings for the real gateway adapters, read from the environment.

Secrets are ``repr=False`` and never leave ``describe()``. A gateway without its keys is disabled.
Items marked *unconfirmed* in ``reference/gateways.md`` are settings here, not constants.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from domain.money import CURRENCY_EXPONENTS

MOMO_SANDBOX_URL = "https://sandbox.momodeveloper.mtn.com"
#: One MoMo API user and target environment serve one market and its currency (reference §4).
#: The environment names are MTN's; the currency per market is the country's (only ``sandbox``
#: -> EUR and ``mtnuganda`` -> UGX are stated by the reference): MOMO_MARKET_CURRENCY overrides.
MOMO_MARKETS: Mapping[str, frozenset[str]] = {
    "sandbox": frozenset({"EUR"}), "mtnuganda": frozenset({"UGX"}), "mtnghana": frozenset({"GHS"}),
    "mtnivorycoast": frozenset({"XOF"}), "mtnzambia": frozenset({"ZMW"}),
    "mtncameroon": frozenset({"XAF"}), "mtnbenin": frozenset({"XOF"}), "mtncongo": frozenset({"XAF"}),
    "mtnswaziland": frozenset({"SZL"}), "mtnguineaconakry": frozenset({"GNF"}),
    "mtnsouthafrica": frozenset({"ZAR"}), "mtnliberia": frozenset({"LRD"}),
}
#: Paystack amount per major unit where the reference confirms the subunit (kobo, pesewas,
#: cents). XOF, RWF... are unconfirmed: an operator states them (PAYSTACK_CURRENCY_SUBUNITS).
PAYSTACK_CONFIRMED_SUBUNITS: Mapping[str, int] = {"NGN": 100, "GHS": 100, "ZAR": 100, "USD": 100,
                                                  "KES": 100}
#: Stripe error codes a repeat of an accepted call can get (409 in use is documented; the refund
#: codes, met once a pruned key makes the repeat a new request, are not in the reference).
STRIPE_REPEAT_FAILURE_CODES = frozenset({"idempotency_key_in_use", "charge_already_refunded",
                                         "amount_too_large"})


def _csv(value: str | None, default: frozenset[str]) -> frozenset[str]:
    if not value:
        return default
    return frozenset(v.strip().upper() for v in value.split(",") if v.strip())


def _words(value: str | None, default: frozenset[str]) -> frozenset[str]:
    return frozenset(v.strip() for v in value.split(",") if v.strip()) if value else default


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    return float(env[key]) if env.get(key) else default


def _bool(env: Mapping[str, str], key: str, default: bool = False) -> bool:
    if not env.get(key):
        return default
    return env[key].strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], key: str, default: int | None) -> int | None:
    return int(env[key]) if env.get(key) else default


def _units(value: str | None, variable: str) -> dict[str, int]:
    """``"XOF=100,RWF=1"`` -> ``{"XOF": 100, "RWF": 1}``: gateway amount per major unit."""
    units: dict[str, int] = {}
    for item in (value or "").split(","):
        if not item.strip():
            continue
        currency, _, factor = item.partition("=")
        if not factor.strip().isdigit() or int(factor) < 1:
            raise ValueError(f"{variable}: {item.strip()!r} is not CURRENCY=AMOUNT_PER_MAJOR_UNIT")
        units[currency.strip().upper()] = int(factor)
    return units


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
            elif isinstance(value, Mapping):
                out[a.name] = dict(value)
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
    #: The ``Stripe-Version`` of our requests. Webhook payloads follow the *endpoint's* version,
    #: set in the Dashboard: choose 2024-10-28.acacia or later (refund.* events for card refunds).
    api_version: str = "2024-06-20"
    webhook_tolerance: float = 300.0
    currencies: frozenset[str] = frozenset({"USD", "EUR", "GBP", "JPY"})
    timeouts: HttpTimeouts = HttpTimeouts()
    repeat_failure_codes: frozenset[str] = STRIPE_REPEAT_FAILURE_CODES
    #: Pages of 100 refunds read when finding one of ours by its metadata.
    refund_list_pages: int = 10

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key and self.webhook_secret)

    disabled_reason = "STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are required"


@attrs.frozen
class PaystackSettings(_Describable):
    secret_key: str = attrs.field(default="", repr=False)
    base_url: str = "https://api.paystack.co"
    currencies: frozenset[str] = frozenset({"NGN", "GHS", "ZAR", "USD"})
    timeouts: HttpTimeouts = HttpTimeouts()
    #: Paystack amount per major unit, per currency: the confirmed ones plus what an operator
    #: states. A currency without one is refused (it could go out 100x too small).
    subunits: Mapping[str, int] = attrs.field(factory=lambda: dict(PAYSTACK_CONFIRMED_SUBUNITS),
                                              hash=False)

    def __attrs_post_init__(self) -> None:
        unknown = sorted(self.currencies - set(self.subunits))
        if unknown:
            raise ValueError(f"Paystack's unit for {', '.join(unknown)} is unconfirmed: state it in "
                             f"PAYSTACK_CURRENCY_SUBUNITS (e.g. {unknown[0]}=100) or leave it out of "
                             "PAYSTACK_CURRENCIES")

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key)

    disabled_reason = "PAYSTACK_SECRET_KEY is required"


@attrs.frozen
class FlutterwaveSettings(_Describable):
    secret_key: str = attrs.field(default="", repr=False)
    secret_hash: str = attrs.field(default="", repr=False)
    base_url: str = "https://api.flutterwave.com"
    #: Also accept ``flutterwave-signature`` = base64(HMAC-SHA256(secret_hash, body)), the form some
    #: third-party code computes (the v4 docs say the header equals the hash, always accepted).
    accept_hmac_signature: bool = True
    #: ``max_retry_attempt`` on the hosted link (None: not sent, Flutterwave's default applies).
    max_retry_attempt: int | None = None
    #: Bound for ``session_duration`` in minutes (reference: at most 1440).
    max_session_minutes: int = 1440
    #: Read every attempt under our tx_ref (``GET /v3/transactions?tx_ref=``: the official Node
    #: SDK's filter, not in the reference) when the verified one is not a success.
    list_attempts: bool = True
    #: Refund lookup paths: unconfirmed for v3 (``{id}``: Flutterwave's refund id).
    refund_path: str = "/v3/refunds/{id}"
    refund_list_path: str = "/v3/refunds"
    refund_list_pages: int = 3
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
    base_url: str = MOMO_SANDBOX_URL
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
    currencies: frozenset[str] = frozenset({"EUR"})  # the sandbox takes EUR only
    timeouts: HttpTimeouts = HttpTimeouts()
    #: The market's currency, when the target environment is not in ``MOMO_MARKETS``.
    market_currencies: frozenset[str] = frozenset()

    def __attrs_post_init__(self) -> None:
        if self.target_environment != "sandbox" and self.base_url.rstrip("/") == MOMO_SANDBOX_URL:
            raise ValueError(f"MOMO_BASE_URL is required for the production target environment "
                             f"{self.target_environment!r} (the sandbox host would serve it)")

    @property
    def market(self) -> frozenset[str] | None:
        """The currencies the configured market uses (None: unknown market)."""
        return self.market_currencies or MOMO_MARKETS.get(self.target_environment)

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
    """Settings for every real gateway, keyed by gateway name (disabled ones included).

    Raises ValueError, naming the variable, for a configuration that would move money wrongly:
    a Paystack currency whose unit is unconfirmed and not stated, a MoMo production target
    without its host, MoMo currencies outside the target environment's market."""
    e = environ
    return {
        "stripe": StripeSettings(
            secret_key=e.get("STRIPE_SECRET_KEY", ""), webhook_secret=e.get("STRIPE_WEBHOOK_SECRET", ""),
            base_url=e.get("STRIPE_BASE_URL") or "https://api.stripe.com",
            api_version=e.get("STRIPE_API_VERSION") or "2024-06-20",
            webhook_tolerance=_float(e, "STRIPE_WEBHOOK_TOLERANCE", 300.0),
            currencies=_csv(e.get("STRIPE_CURRENCIES"), StripeSettings().currencies),
            timeouts=_timeouts(e, "STRIPE", HttpTimeouts()),
            repeat_failure_codes=_words(e.get("STRIPE_REPEAT_FAILURE_CODES"), STRIPE_REPEAT_FAILURE_CODES)),
        "paystack": PaystackSettings(
            secret_key=e.get("PAYSTACK_SECRET_KEY", ""),
            base_url=e.get("PAYSTACK_BASE_URL") or "https://api.paystack.co",
            currencies=_csv(e.get("PAYSTACK_CURRENCIES"), PaystackSettings().currencies),
            timeouts=_timeouts(e, "PAYSTACK", HttpTimeouts()),
            subunits={**PAYSTACK_CONFIRMED_SUBUNITS,
                      **_units(e.get("PAYSTACK_CURRENCY_SUBUNITS"), "PAYSTACK_CURRENCY_SUBUNITS")}),
        "flutterwave": FlutterwaveSettings(
            secret_key=e.get("FLUTTERWAVE_SECRET_KEY", ""), secret_hash=e.get("FLUTTERWAVE_SECRET_HASH", ""),
            base_url=e.get("FLUTTERWAVE_BASE_URL") or "https://api.flutterwave.com",
            accept_hmac_signature=_bool(e, "FLUTTERWAVE_ACCEPT_HMAC_SIGNATURE", True),
            max_retry_attempt=_int(e, "FLUTTERWAVE_MAX_RETRY_ATTEMPT", None),
            list_attempts=_bool(e, "FLUTTERWAVE_LIST_ATTEMPTS", True),
            refund_path=e.get("FLUTTERWAVE_REFUND_PATH") or FlutterwaveSettings().refund_path,
            refund_list_path=e.get("FLUTTERWAVE_REFUND_LIST_PATH") or FlutterwaveSettings().refund_list_path,
            currencies=_csv(e.get("FLUTTERWAVE_CURRENCIES"), FlutterwaveSettings().currencies),
            timeouts=_timeouts(e, "FLUTTERWAVE", HttpTimeouts(total=35.0))),
        "mtn_momo": _momo_from_env(e),
    }


def _momo_from_env(e: Mapping[str, str]) -> MomoSettings:
    target = e.get("MOMO_TARGET_ENVIRONMENT") or "sandbox"
    base_url = e.get("MOMO_BASE_URL")
    if not base_url:
        if target != "sandbox":
            raise ValueError(f"MOMO_BASE_URL is required when MOMO_TARGET_ENVIRONMENT is {target!r} "
                             "(production hosts differ by country, e.g. https://proxy.momoapi.mtn.com)")
        base_url = MOMO_SANDBOX_URL
    stated = _csv(e.get("MOMO_MARKET_CURRENCY"), frozenset())
    market = stated or MOMO_MARKETS.get(target)
    if market is None:
        raise ValueError(f"MOMO_MARKET_CURRENCY is required: the market of MOMO_TARGET_ENVIRONMENT "
                         f"{target!r} is not known here")
    currencies = _csv(e.get("MOMO_CURRENCIES"), frozenset(market & set(CURRENCY_EXPONENTS)))
    if not currencies <= market:
        raise ValueError(f"MOMO_CURRENCIES {sorted(currencies - market)} are not used by the {target!r} "
                         f"market ({', '.join(sorted(market))}): MoMo would refuse them")
    return MomoSettings(
        subscription_key=e.get("MOMO_SUBSCRIPTION_KEY", ""), api_user=e.get("MOMO_API_USER", ""),
        api_key=e.get("MOMO_API_KEY", ""), base_url=base_url, target_environment=target,
        callback_url=e.get("MOMO_CALLBACK_URL") or None,
        callback_secret=e.get("MOMO_CALLBACK_SECRET", ""),
        token_grant_type=_bool(e, "MOMO_TOKEN_GRANT_TYPE"),
        disbursement_subscription_key=e.get("MOMO_DISBURSEMENT_SUBSCRIPTION_KEY", ""),
        disbursement_api_user=e.get("MOMO_DISBURSEMENT_API_USER", ""),
        disbursement_api_key=e.get("MOMO_DISBURSEMENT_API_KEY", ""),
        currencies=currencies, market_currencies=stated,
        timeouts=_timeouts(e, "MOMO", HttpTimeouts()))
