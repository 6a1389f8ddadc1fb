"""The ``payport`` command as a newcomer runs it: serve on the embedded default, migrate, reconcile."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import psycopg2

from tests.databases import SUFFIX, TEST_DSN, with_dbname

PAYPORT = [sys.executable, "-m", "entrypoints.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYPORT_", "DATABASE_URL", "REDIS_URL"))}
    return {**env, **extra}


def get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, json.loads(resp.read())


def test_serve_starts_the_embedded_default_and_says_memory_keeps_nothing():
    port = free_port()
    proc = subprocess.Popen([*PAYPORT, "serve", "--port", str(port)], env=clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/health/ready")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "payport serve did not start"
                time.sleep(0.2)
        assert status == 200 and body["status"] == "ok"
        _, products = get(f"http://127.0.0.1:{port}/api/v1/products?limit=100")
        assert {p["currency"] for p in products["results"]} >= {"NGN", "USD", "GHS", "KES"}
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0]
    assert "Nothing is kept across restarts" in output
    assert f"http://127.0.0.1:{port}" in output


def test_migrate_needs_a_database_and_is_idempotent():
    done = subprocess.run([*PAYPORT, "migrate"], env=clean_env(), capture_output=True, text=True)
    assert done.returncode == 2 and "DATABASE_URL is not set" in done.stderr
    name = f"payport_cli{SUFFIX}"
    admin = psycopg2.connect(with_dbname(TEST_DSN, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    env = clean_env(DATABASE_URL=with_dbname(TEST_DSN, name), PAYPORT_JWT_SECRET="cli-test-secret-" + "x" * 24)
    first = subprocess.run([*PAYPORT, "migrate"], env=env, capture_output=True, text=True)
    assert first.returncode == 0 and "0001_initial" in first.stderr
    second = subprocess.run([*PAYPORT, "migrate"], env=env, capture_output=True, text=True)
    assert second.returncode == 0 and "none (up to date)" in second.stderr
    clean = subprocess.run([*PAYPORT, "reconcile"], env=env, capture_output=True, text=True)
    assert clean.returncode == 0 and "0 finding(s)" in clean.stderr
    assert "covered every row as of " in clean.stderr and "succeeded_payments 0" in clean.stderr  # its window
    parts = subprocess.run([*PAYPORT, "partitions"], env=env, capture_output=True, text=True, timeout=60)
    assert parts.returncode == 0 and "partitions: 0 created (none), 0 dropped (none)" in parts.stderr, parts.stderr
    listed = [json.loads(line) for line in parts.stdout.splitlines()]
    assert {(p["table"], p["range"]) for p in listed if p["partition"].endswith("_default")} == {
        (t, "DEFAULT") for t in ("outbox", "delivery_attempts", "order_status_history", "idempotency_keys_expired")}
    once = subprocess.run([*PAYPORT, "worker", "--once"], env=env, capture_output=True, text=True, timeout=60)
    assert once.returncode == 0, once.stderr
    assert ("one pass of each job: {'outbox_relay': 0, 'idempotency_reaping': 0, 'outbox_purge': 0, 'partitions': 0, "
            "'deliveries': 0, 'pending_order_expiry': 0, 'webhook_retries': 0, 'open_payment_settlement': 0, "
            "'pending_refund_retries': 0, 'cancellation_refunds': 0, 'fraud_attempt_reaping': 0}") in once.stderr


def test_a_setting_that_cannot_work_stops_the_start_with_a_clear_message():
    done = subprocess.run([*PAYPORT, "serve", "--port", str(free_port())], capture_output=True, text=True,
                          env=clean_env(PAYPORT_RATE_LOGIN_IP="1000000000/1"), timeout=20)
    assert done.returncode == 2
    assert "configuration error: PAYPORT_RATE_LOGIN_IP='1000000000/1'" in done.stderr


def test_a_setting_that_is_not_a_number_is_named_in_the_message():
    done = subprocess.run([*PAYPORT, "serve", "--port", str(free_port())], capture_output=True, text=True,
                          env=clean_env(PAYPORT_LOCAL_CACHE_STALENESS="2s"), timeout=20)
    assert done.returncode == 2
    assert "configuration error: PAYPORT_LOCAL_CACHE_STALENESS='2s': expected a number" in done.stderr


def test_an_unknown_setting_stops_the_start_and_names_the_one_meant():
    done = subprocess.run([*PAYPORT, "serve", "--port", str(free_port())], capture_output=True, text=True,
                          env=clean_env(PAYPORT_SANBOX="on"), timeout=20)
    assert done.returncode == 2
    assert "configuration error: PAYPORT_SANBOX: unknown setting; did you mean PAYPORT_SANDBOX?" in done.stderr


def test_config_prints_the_effective_configuration_with_secrets_masked():
    env = clean_env(PAYPORT_JWT_SECRET="jwt-secret-0123456789abcdef0123456789", PAYPORT_PORT="9090",
                    DATABASE_URL="postgresql://payport:db-password@db.internal/payport",
                    PAYPORT_BOOTSTRAP_ADMIN="root@example.com:admin-password-1", PAYSTACK_SECRET_KEY="sk_test_cli")
    done = subprocess.run([*PAYPORT, "config"], env=env, capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    for secret in ("jwt-secret-0123", "db-password", "admin-password-1", "sk_test_cli"):
        assert secret not in done.stdout
    shown = json.loads(done.stdout)
    assert shown["http"] == {"host": "127.0.0.1", "port": 9090, "public_url": "http://127.0.0.1:9090",
                             "trusted_proxies": []}
    assert shown["storage"]["database_url"] == "postgresql://payport:***@db.internal/payport"
    assert shown["security"]["jwt_secret"] == shown["security"]["bootstrap_admin"] == "**********"
    assert (shown["storage_backend"], shown["kv"], shown["sandbox_enabled"]) == ("postgres", "memory", False)
    assert shown["gateways"]["paystack"]["enabled"] and shown["gateways"]["paystack"]["secret_key_set"]
    assert shown["rate_limits"]["login_ip"] == [60, 60]


def test_worker_once_runs_each_job_once_on_the_embedded_default():
    done = subprocess.run([*PAYPORT, "worker", "--once"], env=clean_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert ("one pass of each job: {'deliveries': 0, 'pending_order_expiry': 0, 'webhook_retries': 0, "
            "'sandbox_delayed_webhooks': 0, 'open_payment_settlement': 0, 'pending_refund_retries': 0, 'cancellation_refunds': 0, "
            "'fraud_attempt_reaping': 0}") in done.stderr  # + the back office's (issue 17)


def test_serve_workers_runs_several_processes_on_one_port():
    """``payport serve --workers 2``: two processes share the port (SO_REUSEPORT) and one store;
    the embedded default refuses it (its data lives in one process)."""
    refused = subprocess.run([*PAYPORT, "serve", "--workers", "2", "--port", str(free_port())], env=clean_env(),
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "needs DATABASE_URL" in refused.stderr
    name = f"payport_cli_workers{SUFFIX}"
    admin = psycopg2.connect(with_dbname(TEST_DSN, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    env = clean_env(DATABASE_URL=with_dbname(TEST_DSN, name), REDIS_URL="redis://127.0.0.1:6379/12",
                    PAYPORT_REDIS_PREFIX=f"cli-workers{SUFFIX}:", PAYPORT_JWT_SECRET="w" * 40, PAYPORT_DEMO_DATA="on")
    assert subprocess.run([*PAYPORT, "migrate"], env=env, capture_output=True, text=True).returncode == 0
    port = free_port()
    proc = subprocess.Popen([*PAYPORT, "serve", "--workers", "2", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        pids: set[str] = set()
        while len(pids) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "two serving processes did not answer"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                    text = resp.read().decode()
            except OSError:
                time.sleep(0.2)
                continue
            pids |= {line for line in text.splitlines() if line.startswith("payport_process{")}
        _, products = get(f"http://127.0.0.1:{port}/api/v1/products?limit=5")
        assert products["results"]  # one catalog, whichever process answers
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert "2 processes" in output
