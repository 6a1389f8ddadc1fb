"""Every setting in one typed place (pydantic-settings), read from the environment.

The variables keep the names they always had (``PAYPORT_*``, ``DATABASE_URL``, ``REDIS_URL``,
``PAYPORT_RATE_<POLICY>=n/seconds``, ``PAYPORT_TTL_<NAME>``): each field names its variable with
``env(...)``, and that declaration is the only list of them. A ``PAYPORT_*`` variable nobody
declared is refused with the nearest known name; a value that cannot work is refused with its
variable named (``entrypoints/settings_source.py`` reads the environment). Secrets are
``SecretStr`` (masked in ``repr`` and in ``payport config``).

The container is fed ``Settings.flat()``, the flat keys it has always used (and that tests
override with ``build_container({"scrypt_n": ...})``); ``FLAT`` maps them to the sections.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, Field, SecretStr, ValidationError, computed_field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from entrypoints.settings_source import (
    READ_ELSEWHERE,
    READ_ELSEWHERE_PREFIXES,
    EnvironmentSource,
    SettingsError,
    env,
    env_family,
    explain,
    reading,
    redact,
    variables,
)

__all__ = ["CACHE_TTLS", "FLAT", "startup_refusals", "RATE_LIMITS", "READ_ELSEWHERE", "READ_ELSEWHERE_PREFIXES", "Settings",
           "SettingsError", "load_settings", "parse_rate", "variables"]

#: Per-endpoint limits (requests, window seconds), DESIGN.md §3. Override with PAYPORT_RATE_<NAME>="n/seconds".
RATE_LIMITS: dict[str, tuple[int, int]] = {
    "checkout_initiate": (10, 300), "checkout_pricing": (20, 60), "checkout_coupon": (10, 60),
    "checkout_confirm": (5, 300), "payment_initiate": (10, 60), "login_email": (5, 60), "login_ip": (60, 60),
    "register": (10, 60), "guest": (30, 60),
    # issue 18: where abuse is cheap (the contact form is counted per client IP)
    "contact": (5, 600), "review_write": (10, 3600), "ticket_open": (10, 3600), "ticket_reply": (60, 600),
    # issue 16: money-adjacent routes also count per client IP (fresh guest tokens cannot multiply them)
    "checkout_initiate_ip": (30, 300), "checkout_pricing_ip": (60, 60), "checkout_coupon_ip": (30, 60),
    "checkout_confirm_ip": (15, 300), "payment_initiate_ip": (30, 60), "order_create": (10, 60),
    "order_create_ip": (30, 60), "refund_create": (10, 60), "refund_create_ip": (30, 60),
    # login: login_email is per (email, client IP); the per-email ceiling slows, it never refuses
    "login_email_ceiling": (30, 900),
    # unauthenticated routes that make us call a gateway or store a row
    "payment_callback_ip": (60, 60), "webhook_ip": (1200, 60), "webhook_store_ip": (600, 3600),
    "webhook_store_reference": (20, 3600), "sandbox_ip": (60, 60),
}
#: Cache TTLs in seconds, DESIGN.md §3. Override with PAYPORT_TTL_<NAME>.
CACHE_TTLS: dict[str, int] = {
    "gateway_config": 3600, "payment": 900, "payment_list": 900, "refund": 900, "order": 600,
    "order_list": 300, "product": 600, "categories": 900, "analytics": 600,
    #: a payment, refund or order whose state can still change (not terminal): kept briefly, so a
    #: lost invalidation can only show it stale this long even before the journal replays it
    "live": 30,
    # issue 18
    "tags": 900, "faq": 900, "reviews": 300,
}
#: The fraud rule's largest single payment per currency, in minor units (not configurable today).
FRAUD_MAX_AMOUNT: dict[str, int] = {"NGN": 500_000_000, "USD": 1_000_000, "GHS": 5_000_000, "KES": 50_000_000}

def _none_if_empty(value: Any) -> Any:
    return None if value == "" else value


def _off_means_false(value: Any) -> Any:
    return value != "off" if isinstance(value, str) else value


def _comma_separated(value: Any) -> Any:
    return [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else value


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased, default ports dropped; ValueError if it has none."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) origin")
    port = parts.port
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def _origins(value: Any) -> Any:
    return [origin_of(v) for v in _comma_separated(value)] if isinstance(value, (str, list)) else value


def parse_rate(value: Any) -> Any:
    """``"10/300"`` -> (10, 300): at most 10 requests per 300 s. Refuses what a limiter cannot keep."""
    if isinstance(value, str):
        count, _, window = value.partition("/")
        try:
            value = (int(count), int(window or 60))
        except ValueError:
            raise ValueError("expected COUNT/SECONDS, e.g. 10/300") from None
    limit, seconds = value
    if not (1 <= limit <= 1_000_000 and 1 <= seconds <= 86_400):
        raise ValueError("COUNT must be 1..1000000 and SECONDS 1..86400")
    return int(limit), int(seconds)


OptionalText = Annotated[str | None, BeforeValidator(_none_if_empty)]
OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_none_if_empty)]
OnOff = Annotated[bool, BeforeValidator(_off_means_false)]
Rate = Annotated[tuple[int, int], BeforeValidator(parse_rate)]
#: a variable family sets some entries; the others keep their defaults
RateLimits = Annotated[dict[str, Rate], BeforeValidator(lambda v: {**RATE_LIMITS, **v})]
Ttls = Annotated[dict[str, int], BeforeValidator(lambda v: {**CACHE_TTLS, **v})]
Mode = Literal["auto", "on", "off"]


class HttpSettings(BaseModel):
    host: str = env("PAYPORT_HOST", "127.0.0.1")
    port: int = env("PAYPORT_PORT", 8080)
    #: where gateways send the customer back; default ``http://HOST:PORT``
    public_url: OptionalText = env("PAYPORT_PUBLIC_URL")
    #: proxies whose X-Forwarded-For is believed
    trusted_proxies: Annotated[list[str], BeforeValidator(_comma_separated)] = env("PAYPORT_TRUSTED_PROXIES", [])


class EdgeSettings(BaseModel):
    """Where browsers may go and what they may read (issue 16)."""

    #: origins a payment's return_url may point at (default: PAYPORT_PUBLIC_URL's origin only)
    return_url_origins: Annotated[list[str], BeforeValidator(_origins)] = env("PAYPORT_RETURN_URL_ORIGINS", [])
    #: origins whose browsers may call the API (CORS; credentials are never allowed); default none
    cors_origins: Annotated[list[str], BeforeValidator(_origins)] = env("PAYPORT_CORS_ORIGINS", [])


class StorageSettings(BaseModel):
    database_url: OptionalText = env("DATABASE_URL", repr=False)  # may carry a password
    #: a read replica (issue 20) for uncached reports and analytics only: the admin lists and the
    #: analytics aggregates. Never a money decision, a read of one's own write, nor a cache that
    #: writes invalidate. Unset: those read the primary too
    replica_url: OptionalText = env("DATABASE_REPLICA_URL", repr=False)  # may carry a password
    pool_min: int = env("PAYPORT_PG_POOL_MIN", 0)
    pool_max: int = env("PAYPORT_PG_POOL_MAX", 10)
    pg_prepare: OnOff = env("PAYPORT_PG_PREPARE", True)


class RedisSettings(BaseModel):
    url: OptionalText = env("REDIS_URL", repr=False)  # may carry a password
    prefix: str = env("PAYPORT_REDIS_PREFIX", "payport:")
    event_bus: Literal["memory", "redis"] = env("PAYPORT_EVENT_BUS", "memory")
    local_cache_ttl: float = env("PAYPORT_LOCAL_CACHE_TTL", 60.0)
    local_cache_staleness: float = env("PAYPORT_LOCAL_CACHE_STALENESS", 2.0)


class CacheSettings(BaseModel):
    ttls: Ttls = env_family("PAYPORT_TTL_", CACHE_TTLS)


class SecuritySettings(BaseModel):
    jwt_secret: OptionalSecret = env("PAYPORT_JWT_SECRET")
    #: legacy: hashes are argon2id now; scrypt hashes of earlier releases carry their own N
    scrypt_n: int = env("PAYPORT_SCRYPT_N", 2**14)
    #: argon2id cost (OWASP's minimum by default: 19 MiB, 2 passes); hashes carry theirs, and are
    #: upgraded at the next login when these change
    argon2_memory_kib: int = env("PAYPORT_ARGON2_MEMORY_KIB", 19_456, ge=8, le=4_194_304)
    argon2_time_cost: int = env("PAYPORT_ARGON2_TIME_COST", 2, ge=1, le=100)
    access_token_ttl: int = env("PAYPORT_ACCESS_TOKEN_TTL", 900)
    refresh_token_ttl: int = env("PAYPORT_REFRESH_TOKEN_TTL", 7 * 86400)
    #: a guest token lives long enough to pay and to come back to the order (7 days)
    guest_token_ttl: int = env("PAYPORT_GUEST_TOKEN_TTL", 7 * 86400)
    #: seconds a verified access token is trusted before its user is read again: a deleted or
    #: disabled user, a demoted admin or a changed password stops it within this bound
    token_recheck: float = env("PAYPORT_TOKEN_RECHECK", 60.0)
    #: seconds each login attempt for an email waits once that email's ceiling is reached
    login_slowdown: float = env("PAYPORT_LOGIN_SLOWDOWN", 2.0)
    #: ``email:password``: an admin created at start-up
    bootstrap_admin: OptionalSecret = env("PAYPORT_BOOTSTRAP_ADMIN")


class SandboxSettings(BaseModel):
    #: auto: on only on the embedded default (no DATABASE_URL); the sandbox moves no money
    mode: Mode = env("PAYPORT_SANDBOX", "auto")
    webhook_secret: OptionalSecret = env("PAYPORT_SANDBOX_WEBHOOK_SECRET")


class CheckoutSettings(BaseModel):
    session_ttl: float = env("PAYPORT_CHECKOUT_SESSION_TTL", 1800.0)
    #: how long a pending order holds its stock before it expires (failed, stock released); an
    #: order with a live payment waits for that payment's own expiry first
    order_pending_minutes: float = env("PAYPORT_ORDER_PENDING_MINUTES", 60.0)


class RefundSettings(BaseModel):
    window_days: int = env("PAYPORT_REFUND_WINDOW_DAYS", 30)


class FraudSettings(BaseModel):
    max_amount: dict[str, int] = Field(default_factory=lambda: dict(FRAUD_MAX_AMOUNT))
    #: JSON fraud rules (the shape of ``domain/fraud.py``'s ``FraudRules.from_dict``): amount review
    #: and block levels, velocity, repeated declines, blocklists, country/currency; without it only
    #: the ``max_amount`` block levels apply
    rules_file: OptionalText = env("PAYPORT_FRAUD_FILE")


class MailSettings(BaseModel):
    #: ``smtp[s]://user:password@host:port?from=...`` (``adapters/smtp.py``); unset: no e-mail is sent
    smtp_url: OptionalSecret = env("SMTP_URL")


class WorkerSettings(BaseModel):
    #: seconds between runs of the frequent jobs (``payport worker --interval``)
    interval: float = env("PAYPORT_WORKER_INTERVAL", 5.0)
    #: the worker's jobs inside ``payport serve``: auto (on with the embedded default's memory storage)
    embedded: Mode = env("PAYPORT_EMBEDDED_WORKER", "auto")


class BackofficeSettings(BaseModel):
    #: hours after payment within which a customer may cancel a paid order (and be refunded); 0: never
    cancel_window_hours: Annotated[float, Field(ge=0)] = env("PAYPORT_CANCEL_WINDOW_HOURS", 24.0)
    #: JSON exchange-rate table for the analytics' reporting currency ({date, base, rates})
    exchange_rates_file: OptionalText = env("PAYPORT_EXCHANGE_RATES_FILE")
    #: seconds between two reads of the gateway configuration in each process (a save applies at once
    #: in the process that made it, and in the others within this plus the cache's staleness bound)
    gateway_config_refresh: Annotated[float, Field(gt=0)] = env("PAYPORT_GATEWAY_CONFIG_REFRESH", 5.0)


class MerchantWebhookSettings(BaseModel):
    #: on: endpoints may resolve to private, loopback, link-local or reserved addresses (tests, a
    #: shop backend on the same private network); off by default (server-side request forgery)
    allow_private: OnOff = env("PAYPORT_WEBHOOK_ALLOW_PRIVATE", False)
    #: seconds a receiver has to answer one delivery
    timeout: Annotated[float, Field(gt=0)] = env("PAYPORT_WEBHOOK_TIMEOUT", 10.0)


class Settings(BaseSettings):
    """The effective configuration: the environment, then the overrides (tests, CLI flags)."""

    model_config = SettingsConfigDict(arbitrary_types_allowed=True, validate_default=True)

    http: HttpSettings = Field(default_factory=HttpSettings)
    edge: EdgeSettings = Field(default_factory=EdgeSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    rate_limits: RateLimits = env_family("PAYPORT_RATE_", RATE_LIMITS)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    demo_data: Mode = env("PAYPORT_DEMO_DATA", "auto")
    #: the shop's name, shown on pages a customer sees (the sandbox's payment page)
    shop_name: str = env("PAYPORT_SHOP_NAME", "payport demo shop", min_length=1, max_length=100)
    checkout: CheckoutSettings = Field(default_factory=CheckoutSettings)
    refunds: RefundSettings = Field(default_factory=RefundSettings)
    pricing_file: OptionalText = env("PAYPORT_PRICING_FILE")
    fraud: FraudSettings = Field(default_factory=FraudSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    backoffice: BackofficeSettings = Field(default_factory=BackofficeSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    merchant_webhooks: MerchantWebhookSettings = Field(default_factory=MerchantWebhookSettings)
    #: the real gateways' settings (``adapters.gateways.config``), from the same environment
    gateways: dict[str, Any] = Field(default_factory=dict, repr=False)
    #: no PAYPORT_JWT_SECRET: tokens are signed with a random key that dies with this process
    ephemeral_jwt_secret: bool = False

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The overrides, then our own reading of the environment (never pydantic's, nor a .env file)."""
        return init_settings, EnvironmentSource(settings_cls)

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if self.http.public_url is None:
            self.http.public_url = f"http://{self.http.host}:{self.http.port}"
        if not self.edge.return_url_origins:
            self.edge.return_url_origins = [origin_of(self.http.public_url)]
        if self.security.jwt_secret is None:
            self.security.jwt_secret = SecretStr(secrets.token_urlsafe(48))
            self.ephemeral_jwt_secret = True
        if self.sandbox.webhook_secret is None:
            self.sandbox.webhook_secret = SecretStr(secrets.token_urlsafe(32))
        if self.storage.replica_url and not self.storage.database_url:
            raise ValueError("DATABASE_REPLICA_URL needs DATABASE_URL: a replica serves reports beside a primary")
        if "{" in self.redis.prefix or "}" in self.redis.prefix:
            raise ValueError("PAYPORT_REDIS_PREFIX may not contain { or }: the keys' hash tags (Redis Cluster slots) "
                             "follow it")
        if self.redis.event_bus == "redis" and not self.redis.url:
            raise ValueError("PAYPORT_EVENT_BUS=redis needs REDIS_URL")
        if self.sandbox.mode == "on" and self.real_gateways:
            raise ValueError(f"PAYPORT_SANDBOX=on beside real gateway(s) {', '.join(self.real_gateways)}: the "
                             "sandbox takes no payment where real money moves; set PAYPORT_SANDBOX=off (or "
                             "remove those gateways' keys from a test deployment)")
        return self

    @property
    def real_gateways(self) -> list[str]:
        """The real gateways whose credentials are configured (they take real money)."""
        return [name for name, gateway in self.gateways.items() if gateway.enabled]

    # -- computed flags -------------------------------------------------------------------------
    @computed_field  # type: ignore[prop-decorator]
    @property
    def storage_backend(self) -> Literal["memory", "postgres"]:
        return "postgres" if self.storage.database_url else "memory"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kv(self) -> Literal["memory", "redis"]:
        """Where the cache, sessions, rate limits and webhook dedup live."""
        return "redis" if self.redis.url else "memory"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def value_cache(self) -> Literal["memory", "redis", "tiered"]:
        """What cached responses are read from: Redis behind an in-process tier unless its TTL is 0."""
        if not self.redis.url:
            return "memory"
        return "tiered" if self.redis.local_cache_ttl > 0 else "redis"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sandbox_enabled(self) -> bool:
        """The sandbox takes payments only in a deployment marked as a test one: ``PAYPORT_SANDBOX=on``,
        or the embedded default (``auto``: no DATABASE_URL and no real gateway configured). It is never
        on beside a real gateway (``on`` with one is refused at start)."""
        if self.real_gateways:
            return False
        return self.sandbox.mode == "on" or (self.sandbox.mode == "auto" and not self.storage.database_url)

    @property
    def embedded_worker_enabled(self) -> bool:
        """Whether ``payport serve`` runs the worker's jobs itself: on the embedded default there is
        no other process that could (nothing else sees its memory)."""
        return self.worker.embedded == "on" or (self.worker.embedded == "auto" and not self.storage.database_url)

    @property
    def demo_data_enabled(self) -> bool:
        return self.demo_data == "on" or (self.demo_data == "auto" and not self.storage.database_url)

    # -- views ----------------------------------------------------------------------------------
    def flat(self) -> dict[str, Any]:
        """The container's configuration: today's flat keys, secrets in clear (never print it)."""
        out = {}
        for key, path in FLAT.items():
            value: Any = self
            for part in path:
                value = getattr(value, part)
            out[key] = value.get_secret_value() if isinstance(value, SecretStr) else value
        return out

    def describe(self) -> dict[str, Any]:
        """The effective configuration for people (``payport config``): secrets masked."""
        out = self.model_dump(mode="json", exclude={"gateways"})
        out["storage"]["database_url"] = redact(self.storage.database_url)
        out["storage"]["replica_url"] = redact(self.storage.replica_url)
        out["redis"]["url"] = redact(self.redis.url)
        out["gateways"] = {name: gateway.describe() for name, gateway in self.gateways.items()}
        return out


#: flat configuration key -> where it lives in Settings (the keys tests override)
FLAT: dict[str, tuple[str, ...]] = {
    "host": ("http", "host"), "port": ("http", "port"), "public_url": ("http", "public_url"),
    "trusted_proxies": ("http", "trusted_proxies"), "return_url_origins": ("edge", "return_url_origins"),
    "cors_origins": ("edge", "cors_origins"),
    "database_url": ("storage", "database_url"), "database_replica_url": ("storage", "replica_url"),
    "pg_pool_min": ("storage", "pool_min"),
    "pg_pool_max": ("storage", "pool_max"), "pg_prepare": ("storage", "pg_prepare"),
    "redis_url": ("redis", "url"), "redis_prefix": ("redis", "prefix"), "event_bus": ("redis", "event_bus"),
    "local_cache_ttl": ("redis", "local_cache_ttl"), "local_cache_staleness": ("redis", "local_cache_staleness"),
    "ttls": ("cache", "ttls"), "rate_limits": ("rate_limits",),
    "jwt_secret": ("security", "jwt_secret"), "scrypt_n": ("security", "scrypt_n"),
    "bootstrap_admin": ("security", "bootstrap_admin"),
    "argon2_memory_kib": ("security", "argon2_memory_kib"), "argon2_time_cost": ("security", "argon2_time_cost"),
    "access_token_ttl": ("security", "access_token_ttl"), "refresh_token_ttl": ("security", "refresh_token_ttl"),
    "guest_token_ttl": ("security", "guest_token_ttl"), "token_recheck": ("security", "token_recheck"),
    "login_slowdown": ("security", "login_slowdown"),
    "sandbox": ("sandbox", "mode"), "sandbox_secret": ("sandbox", "webhook_secret"),
    "demo_data": ("demo_data",), "shop_name": ("shop_name",), "checkout_session_ttl": ("checkout", "session_ttl"),
    "refund_window_days": ("refunds", "window_days"), "pricing_file": ("pricing_file",),
    "order_pending_minutes": ("checkout", "order_pending_minutes"),
    "fraud_max_amount": ("fraud", "max_amount"), "worker_interval": ("worker", "interval"),
    "smtp_url": ("mail", "smtp_url"),
    "webhook_allow_private": ("merchant_webhooks", "allow_private"),
    "webhook_timeout": ("merchant_webhooks", "timeout"),
    "ephemeral_jwt_secret": ("ephemeral_jwt_secret",),
    # computed
    "storage": ("storage_backend",), "kv": ("kv",), "value_cache": ("value_cache",),
    "sandbox_enabled": ("sandbox_enabled",),
}
_COMPUTED = frozenset({"storage", "kv", "value_cache", "sandbox_enabled", "ephemeral_jwt_secret"})


#: the shortest PAYPORT_JWT_SECRET a deployment on real storage starts with
MIN_JWT_SECRET = 32


def startup_refusals(settings: Settings) -> list[str]:
    """Why a process must not start with ``settings`` (empty: it may). Checked by ``payport serve``,
    ``worker`` and ``reconcile``; the embedded default (memory storage) may run on a random key."""
    refusals = []
    if settings.storage_backend == "postgres":
        if settings.ephemeral_jwt_secret:
            refusals.append("PAYPORT_JWT_SECRET is required with DATABASE_URL: a random key per process makes "
                            "every token fail on the other processes and after a restart (openssl rand -hex 32)")
        elif len(settings.security.jwt_secret.get_secret_value().encode()) < MIN_JWT_SECRET:
            refusals.append(f"PAYPORT_JWT_SECRET is shorter than {MIN_JWT_SECRET} bytes (openssl rand -hex 32)")
    momo = settings.gateways.get("mtn_momo")
    if momo is not None and momo.enabled and not momo.callback_secret:
        refusals.append("MOMO_CALLBACK_SECRET is required when MTN MoMo is enabled: its callbacks are unsigned, "
                        "and the secret's per-payment token is what authenticates them")
    return refusals


def load_settings(environ: Mapping[str, str] = os.environ, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from ``environ``, then ``overrides`` (flat keys, see ``FLAT``); SettingsError names
    the variable of a value that cannot work."""
    nested: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if key not in FLAT or key in _COMPUTED:
            raise SettingsError(f"{key}: not a setting that can be overridden")
        *sections, name = FLAT[key]
        target = nested
        for section in sections:
            target = target.setdefault(section, {})
        target[name] = value
    with reading(environ):
        try:
            return Settings(**nested)
        except ValidationError as exc:
            raise SettingsError("; ".join(explain(error, Settings) for error in exc.errors())) from None
