"""Prometheus metrics, one registry per container (so several apps can live in one test process)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self._http_children: dict[tuple, tuple] = {}
        self.http_requests = Counter("payport_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=r)
        self.http_latency = Histogram("payport_http_request_seconds", "HTTP latency", ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.cache_requests = Counter("payport_cache_requests_total", "Cache lookups", ["namespace", "result"], registry=r)
        self.cache_errors = Counter("payport_cache_errors_total", "Cache backend errors (served from origin)", ["operation"], registry=r)
        self.rate_limited = Counter("payport_rate_limited_total", "Requests refused by a rate limit", ["policy"], registry=r)
        self.rate_limit_fail_open = Counter("payport_rate_limit_fail_open_total", "Rate-limit checks passed because the limiter backend failed", ["policy"], registry=r)
        self.gateway_calls = Counter("payport_gateway_calls_total", "Gateway calls", ["gateway", "operation", "outcome"], registry=r)
        self.gateway_latency = Histogram("payport_gateway_call_seconds", "Gateway call latency", ["gateway", "operation"], buckets=LATENCY_BUCKETS, registry=r)
        self.breaker_state = Gauge("payport_gateway_breaker_state", "Circuit breaker state (0 closed, 1 half-open, 2 open)", ["gateway"], registry=r)
        self.payments = Counter("payport_payments_total", "Payment intents reaching a state", ["gateway", "status"], registry=r)
        self.refunds = Counter("payport_refunds_total", "Refunds reaching a state", ["status"], registry=r)
        self.webhooks = Counter("payport_webhooks_total", "Webhooks received", ["gateway", "outcome"], registry=r)
        self.events_published = Counter("payport_events_published_total", "Domain events published", ["event"], registry=r)
        self.event_handler_failures = Counter("payport_event_handler_failures_total", "Event handler failures", ["event"], registry=r)

    def http_children(self, method: str, route: str, status: int):
        """The request counter and latency histogram for one (method, route, status), looked up once."""
        key = (method, route, status)
        children = self._http_children.get(key)
        if children is None:
            children = (self.http_requests.labels(method, route, str(status)), self.http_latency.labels(route))
            self._http_children[key] = children
        return children

    def gateway_stats(self, gateway: str) -> dict:
        """Calls by outcome and mean latency for one gateway (the admin gateway report)."""
        calls: dict[str, float] = {}
        total_seconds = count = 0.0
        for metric in self.registry.collect():
            for sample in metric.samples:
                if sample.labels.get("gateway") != gateway:
                    continue
                if sample.name == "payport_gateway_calls_total":
                    outcome = sample.labels["outcome"]
                    calls[outcome] = calls.get(outcome, 0) + sample.value
                elif sample.name == "payport_gateway_call_seconds_sum":
                    total_seconds += sample.value
                elif sample.name == "payport_gateway_call_seconds_count":
                    count += sample.value
        ok = calls.get("ok", 0)
        return {"calls": {k: int(v) for k, v in sorted(calls.items())}, "successes": int(ok),
                "failures": int(sum(calls.values()) - ok),
                "mean_latency_ms": round(1000 * total_seconds / count, 2) if count else None}

    def render(self) -> bytes:
        return generate_latest(self.registry)
