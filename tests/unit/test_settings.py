"""The typed settings: today's variables and defaults, refusals that name the variable, masked secrets."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from entrypoints.settings import (
    CACHE_TTLS,
    FLAT,
    RATE_LIMITS,
    READ_ELSEWHERE,
    READ_ELSEWHERE_PREFIXES,
    Settings,
    SettingsError,
    load_settings,
    variables,
)

ROOT = Path(__file__).resolve().parents[2]

#: What the container was fed before the settings were typed (container.settings_from_env({}) at 284c7ed).
DEFAULTS = {
    "host": "127.0.0.1", "port": 8080, "public_url": "http://127.0.0.1:8080", "database_url": None,
    "redis_url": None, "redis_prefix": "payport:", "event_bus": "memory", "local_cache_ttl": 60.0,
    "local_cache_staleness": 2.0, "bootstrap_admin": None, "demo_data": "auto", "sandbox": "auto",
    "pricing_file": None, "checkout_session_ttl": 1800.0, "scrypt_n": 2**14, "pg_pool_min": 0, "pg_pool_max": 10,
    "pg_prepare": True, "refund_window_days": 30, "trusted_proxies": [], "rate_limits": RATE_LIMITS,
    "ttls": CACHE_TTLS,
    "fraud_max_amount": {"NGN": 500_000_000, "USD": 1_000_000, "GHS": 5_000_000, "KES": 50_000_000},
    "storage": "memory", "kv": "memory", "value_cache": "memory", "sandbox_enabled": True,
    "ephemeral_jwt_secret": True, "shop_name": "payport demo shop",
}


def test_the_defaults_are_those_of_before():
    flat = load_settings({}).flat()
    assert {k: flat[k] for k in DEFAULTS} == DEFAULTS
    assert len(flat["jwt_secret"]) >= 32 and len(flat["sandbox_secret"]) >= 32  # random per process


def test_every_variable_keeps_its_name():
    environ = {
        "PAYPORT_HOST": "0.0.0.0", "PAYPORT_PORT": "9000", "DATABASE_URL": "postgresql://db/payport",
        "DATABASE_REPLICA_URL": "postgresql://replica/payport", "REDIS_URL": "redis://r:6379/0", "PAYPORT_REDIS_PREFIX": "pp:", "PAYPORT_EVENT_BUS": "redis",
        "PAYPORT_LOCAL_CACHE_TTL": "0", "PAYPORT_LOCAL_CACHE_STALENESS": "0.5", "PAYPORT_JWT_SECRET": "j" * 40,
        "PAYPORT_SANDBOX_WEBHOOK_SECRET": "sandbox-secret", "PAYPORT_BOOTSTRAP_ADMIN": "a@b.c:pw",
        "PAYPORT_DEMO_DATA": "on", "PAYPORT_SANDBOX": "on", "PAYPORT_PRICING_FILE": "/p.json",
        "PAYPORT_CHECKOUT_SESSION_TTL": "60", "PAYPORT_SCRYPT_N": "1024", "PAYPORT_PG_POOL_MIN": "1",
        "PAYPORT_PG_POOL_MAX": "3", "PAYPORT_PG_PREPARE": "off", "PAYPORT_REFUND_WINDOW_DAYS": "7",
        "PAYPORT_TRUSTED_PROXIES": "10.0.0.1,10.0.0.2", "PAYPORT_RATE_LOGIN_IP": "3/5", "PAYPORT_RATE_GUEST": "7",
        "PAYPORT_TTL_ORDER": "0", "PAYPORT_WORKER_INTERVAL": "2", "PAYPORT_ORDER_PENDING_MINUTES": "90",
        "SMTP_URL": "smtp://mail:25",
        "PAYPORT_RETURN_URL_ORIGINS": "https://Shop.example/,http://127.0.0.1:3000",
        "PAYPORT_CORS_ORIGINS": "https://shop.example:443", "PAYPORT_ARGON2_MEMORY_KIB": "65536",
        "PAYPORT_ARGON2_TIME_COST": "3", "PAYPORT_ACCESS_TOKEN_TTL": "300", "PAYPORT_REFRESH_TOKEN_TTL": "86400",
        "PAYPORT_GUEST_TOKEN_TTL": "3600", "PAYPORT_TOKEN_RECHECK": "30", "PAYPORT_LOGIN_SLOWDOWN": "1.5",
        "PAYPORT_WEBHOOK_ALLOW_PRIVATE": "on", "PAYPORT_WEBHOOK_TIMEOUT": "3",
        "PAYPORT_SHOP_NAME": "Mama Put Foods",
    }
    flat = load_settings(environ).flat()
    assert flat | {"rate_limits": None, "ttls": None, "fraud_max_amount": None} == {
        "host": "0.0.0.0", "port": 9000, "public_url": "http://0.0.0.0:9000", "database_url": "postgresql://db/payport",
        "database_replica_url": "postgresql://replica/payport", "redis_url": "redis://r:6379/0", "redis_prefix": "pp:", "event_bus": "redis", "local_cache_ttl": 0.0,
        "local_cache_staleness": 0.5, "jwt_secret": "j" * 40, "sandbox_secret": "sandbox-secret",
        "bootstrap_admin": "a@b.c:pw", "demo_data": "on", "sandbox": "on", "pricing_file": "/p.json",
        "checkout_session_ttl": 60.0, "scrypt_n": 1024, "pg_pool_min": 1, "pg_pool_max": 3, "pg_prepare": False,
        "refund_window_days": 7, "trusted_proxies": ["10.0.0.1", "10.0.0.2"], "worker_interval": 2.0,
        "order_pending_minutes": 90.0, "smtp_url": "smtp://mail:25",
        "webhook_allow_private": True, "webhook_timeout": 3.0,
        "return_url_origins": ["https://shop.example", "http://127.0.0.1:3000"],
        "cors_origins": ["https://shop.example"], "argon2_memory_kib": 65536, "argon2_time_cost": 3,
        "access_token_ttl": 300, "refresh_token_ttl": 86400, "guest_token_ttl": 3600, "token_recheck": 30.0,
        "login_slowdown": 1.5, "shop_name": "Mama Put Foods",
        "storage": "postgres", "kv": "redis", "value_cache": "redis", "sandbox_enabled": True,
        "ephemeral_jwt_secret": False, "rate_limits": None, "ttls": None, "fraud_max_amount": None}
    assert flat["rate_limits"] == {**RATE_LIMITS, "login_ip": (3, 5), "guest": (7, 60)}
    assert flat["ttls"] == {**CACHE_TTLS, "order": 0}


@pytest.mark.parametrize(("environ", "computed"), [
    ({}, {"storage": "memory", "kv": "memory", "value_cache": "memory", "sandbox_enabled": True}),
    ({"REDIS_URL": "redis://r"}, {"kv": "redis", "value_cache": "tiered"}),
    ({"REDIS_URL": "redis://r", "PAYPORT_LOCAL_CACHE_TTL": "0"}, {"value_cache": "redis"}),
    ({"DATABASE_URL": "dbname=x"}, {"storage": "postgres", "sandbox_enabled": False}),
    ({"DATABASE_URL": "dbname=x", "PAYPORT_SANDBOX": "on"}, {"sandbox_enabled": True}),
    ({"PAYPORT_SANDBOX": "off"}, {"sandbox_enabled": False}),
    ({"PAYPORT_JWT_SECRET": "x" * 32}, {"ephemeral_jwt_secret": False}),
])
def test_computed_flags(environ, computed):
    flat = load_settings(environ).flat()
    assert {k: flat[k] for k in computed} == computed


def test_overrides_use_the_flat_keys_and_win_over_the_environment():
    settings = load_settings({"PAYPORT_SCRYPT_N": "4096", "PAYPORT_PORT": "9000"},
                             {"scrypt_n": 1024, "database_url": "dbname=x", "port": 9001})
    assert settings.security.scrypt_n == 1024 and settings.storage_backend == "postgres"
    assert settings.http.public_url == "http://127.0.0.1:9001"  # derived after the overrides
    with pytest.raises(SettingsError, match="scrpyt_n: not a setting"):
        load_settings({}, {"scrpyt_n": 1})


@pytest.mark.parametrize(("environ", "message"), [
    ({"PAYPORT_LOCAL_CACHE_STALENESS": "2s"}, "PAYPORT_LOCAL_CACHE_STALENESS='2s': expected a number"),
    ({"PAYPORT_PORT": "http"}, "PAYPORT_PORT='http': expected a whole number"),
    ({"PAYPORT_TTL_ORDER": "10m"}, "PAYPORT_TTL_ORDER='10m': expected a whole number"),
    ({"PAYPORT_RATE_LOGIN_IP": "1000000000/1"},
     "PAYPORT_RATE_LOGIN_IP='1000000000/1': COUNT must be 1..1000000 and SECONDS 1..86400"),
    ({"PAYPORT_RATE_GUEST": "many"}, "PAYPORT_RATE_GUEST='many': expected COUNT/SECONDS, e.g. 10/300"),
    ({"PAYPORT_SANDBOX": "yes"}, "PAYPORT_SANDBOX='yes': expected 'auto', 'on' or 'off'"),
    ({"PAYPORT_EVENT_BUS": "redis"}, "PAYPORT_EVENT_BUS=redis needs REDIS_URL"),
])
def test_a_value_that_cannot_work_is_refused_naming_its_variable(environ, message):
    with pytest.raises(SettingsError) as refused:
        load_settings(environ)
    assert str(refused.value) == message


def test_an_unknown_variable_is_refused_with_a_suggestion():
    with pytest.raises(SettingsError) as refused:
        load_settings({"PAYPORT_SANBOX": "on", "PAYPORT_RATE_LOGIN": "1/1", "PAYPORT_NOTHING_LIKE_IT": "1"})
    assert str(refused.value) == ("PAYPORT_NOTHING_LIKE_IT: unknown setting (payport config lists the settings); "
                                  "PAYPORT_RATE_LOGIN: unknown setting; did you mean PAYPORT_RATE_LOGIN_IP?; "
                                  "PAYPORT_SANBOX: unknown setting; did you mean PAYPORT_SANDBOX?")


def test_variables_read_elsewhere_and_other_programs_variables_are_let_through():
    load_settings({"PAYPORT_LOG_LEVEL": "DEBUG", "PAYPORT_UVLOOP": "off", "PAYPORT_TEST_DB_SUFFIX": "_x",
                   "PAYPORT_BENCH_RUNS": "3", "STRIPE_SECRET_KEY": "sk_test", "HOME": "/root"})


#: files that name wrong variables on purpose (to see them refused)
WRONG_ON_PURPOSE = {"tests/unit/test_settings.py", "tests/integration/test_cli.py"}


def test_every_payport_variable_named_in_the_tree_is_declared():
    """grep the tracked files for PAYPORT_* names: each is a setting, is declared as read
    elsewhere, or names a family (``PAYPORT_RATE_<POLICY>``)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    named = set()
    for name in set(files) - WRONG_ON_PURPOSE:
        if (ROOT / name).is_file():
            named |= set(re.findall(r"PAYPORT_[A-Z0-9_]*[A-Z0-9]", (ROOT / name).read_text(errors="replace")))
    declared = {*dict(variables(Settings)), *READ_ELSEWHERE}
    undeclared = {n for n in named if n not in declared and not f"{n}_".startswith(READ_ELSEWHERE_PREFIXES)
                  and not any(d.startswith(f"{n}_") for d in declared)}
    assert len(named) > 25 and not undeclared


def test_secrets_are_masked_in_repr_and_in_the_description():
    secrets = {"PAYPORT_JWT_SECRET": "jwt-secret-value-0123456789abcdef", "PAYPORT_SANDBOX_WEBHOOK_SECRET": "sbx-value",
               "PAYPORT_BOOTSTRAP_ADMIN": "root@example.com:admin-password-1",
               "DATABASE_URL": "postgresql://payport:db-password@db/payport", "REDIS_URL": "redis://:redis-pw@r:6379/0",
               "STRIPE_SECRET_KEY": "sk_live_stripe", "STRIPE_WEBHOOK_SECRET": "whsec_stripe"}
    settings = load_settings(secrets)
    shown = f"{settings!r} {settings} {settings.describe()}"
    for value in ("jwt-secret-value", "sbx-value", "admin-password-1", "db-password", "redis-pw", "sk_live", "whsec"):
        assert value not in shown
    described = settings.describe()
    assert described["storage"]["database_url"] == "postgresql://payport:***@db/payport"
    assert described["redis"]["url"] == "redis://:***@r:6379/0"
    assert described["security"]["jwt_secret"] == "**********"
    assert described["gateways"]["stripe"]["enabled"] is True and described["gateways"]["stripe"]["secret_key_set"]
    assert load_settings({"DATABASE_URL": "host=db password=db-password dbname=x"}).describe()["storage"][
        "database_url"] == "host=db password=*** dbname=x"


def test_the_gateways_settings_come_from_the_same_environment():
    settings = load_settings({"PAYSTACK_SECRET_KEY": "sk_test_x", "STRIPE_TIMEOUT": "12"})
    assert settings.gateways["paystack"].enabled and not settings.gateways["stripe"].enabled
    assert settings.gateways["stripe"].timeouts.total == 12.0


def test_every_flat_key_is_a_setting():
    settings = load_settings({})
    for key, path in FLAT.items():
        value = settings
        for part in path:
            value = getattr(value, part)
