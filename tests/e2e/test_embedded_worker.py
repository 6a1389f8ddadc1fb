"""On the embedded default ``payport serve`` runs the worker's jobs itself (nothing else could: no
other process sees its memory); the metrics the README promises move."""
from __future__ import annotations

import asyncio
import time

import pytest
from dependency_injector import providers

import container as composition
from adapters.system import FakeClock
from application.ports.gateways import RefundOutcome
from domain.payments import RefundStatus
from entrypoints.http.app import create_app
from entrypoints.settings import load_settings
from entrypoints.worker import registered_jobs
from tests.e2e.api import Api


@pytest.mark.settings(worker_interval=0.05)
async def test_serve_runs_the_jobs_on_the_embedded_default(aiohttp_client, settings):
    clock = FakeClock()
    c = composition.build_container(settings, environ={})
    c.core.clock.override(providers.Object(clock))
    api = Api(await aiohttp_client(create_app(c, jobs=True)))
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k1")
    await api.services.sandbox.settle(payment["reference"], approve=True)  # paid; the webhook and redirect lost
    clock.advance(180)  # its first status query is due: the job inside the server asks
    deadline = time.monotonic() + 5.0
    while (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] != "succeeded":
        assert time.monotonic() < deadline, "the embedded worker never settled the payment"
        await asyncio.sleep(0.02)
    assert (await api.json("GET", f"/api/v1/payment/orders/{order['id']}", h))["status"] == "paid"


def test_the_embedded_worker_is_on_only_where_no_other_process_could_run_it():
    assert load_settings({}).embedded_worker_enabled
    assert not load_settings({"DATABASE_URL": "dbname=x"}).embedded_worker_enabled
    assert load_settings({"DATABASE_URL": "dbname=x", "PAYPORT_EMBEDDED_WORKER": "on"}).embedded_worker_enabled
    assert not load_settings({"PAYPORT_EMBEDDED_WORKER": "off"}).embedded_worker_enabled


async def test_the_metrics_promised_move(api, admin, monkeypatch):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k1")
    await api.sandbox(payment, "approve")
    await api.json("POST", f"/api/v1/admin/orders/{order['id']}/fulfil", admin, json={}, expect=200)
    await api.refund(h, payment["id"], "r1", amount=1000)
    second = await api.initiate(h, (await api.order(h, ship_to=None))["id"], "k2")
    _, headers, hook = await api.services.sandbox.settle(second["reference"], approve=True)
    await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=hook, expect=200)

    async def stuck(request):  # the gateway holds the refund until a person acts (Paystack's needs-attention)
        return RefundOutcome(RefundStatus.PROCESSING, "sbr_stuck", "the customer's bank details are needed",
                             needs_attention=True)
    monkeypatch.setattr(api.services.sandbox, "refund", stuck)
    flagged = await api.refund(h, payment["id"], "r2", amount=1000)
    assert (flagged["status"], flagged["needs_attention"]) == ("processing", True)
    _, body = await api.call("GET", "/metrics", expect=200)
    text = body.decode()
    for line in ('payport_refunds_total{status="succeeded"} 1.0', 'payport_refunds_total{status="processing"} 1.0',
                 'payport_payments_total{gateway="sandbox",status="succeeded"} 2.0',
                 'payport_fraud_decisions_total{outcome="allow"} 2.0',
                 'payport_order_transitions_total{status="processing"} 1.0',
                 'payport_webhooks_total{gateway="sandbox",outcome="processed"} 2.0',  # the page's and ours
                 'payport_refunds_needing_attention_total{gateway="sandbox"} 1.0'):
        assert line in text, line
    assert "payport_http_requests_total" in text


async def test_the_webhook_retries_job_claims_and_processes_what_is_due(clock, api, container, monkeypatch):
    h = await api.user()
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], "k1")
    settlement = api.services.settlement
    real_apply = settlement.apply

    async def broken(*args, **kwargs):
        raise RuntimeError("the settlement broke")
    monkeypatch.setattr(settlement, "apply", broken)
    _, headers, body = await api.services.sandbox.settle(payment["reference"], approve=True)
    assert (await api.json("POST", "/api/v1/payment/webhooks/sandbox", headers, data=body))["status"] == "failed"
    monkeypatch.setattr(settlement, "apply", real_apply)
    [job] = [j for j in await registered_jobs(container) if j.name == "webhook_retries"]
    assert await job.run_once() == 0  # its retry is 30 s away
    clock.advance(31)
    assert await job.run_once() == 1
    assert await job.run_once() == 0
    assert (await api.json("GET", f"/api/v1/payment/payments/{payment['id']}", h))["status"] == "succeeded"
