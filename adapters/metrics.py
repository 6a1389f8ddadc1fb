"""Prometheus metrics, one registry per container (so several apps can live in one test process)."""
from __future__ import annotations

import bisect
import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class RouteStats:
    """One route's requests by status and its latency histogram, in plain numbers: what the endpoint
    wrapper updates after every request (no locks, no label lookups)."""

    __slots__ = ("method", "route", "statuses", "buckets", "seconds")

    def __init__(self, method: str, route: str) -> None:
        self.method, self.route = method, route
        self.statuses: dict[int, int] = {}
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.seconds = 0.0

    def observe(self, status: int, seconds: float) -> None:
        statuses = self.statuses
        statuses[status] = statuses.get(status, 0) + 1
        self.buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.seconds += seconds


class HttpStats:
    """Per-request HTTP metrics, exported as ``payport_http_requests_total`` (by method, route and
    status) and ``payport_http_request_seconds`` (by route) on scrape."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], RouteStats] = {}

    def route(self, method: str, route: str) -> RouteStats:
        stats = self.routes.get((method, route))
        if stats is None:
            stats = self.routes[(method, route)] = RouteStats(method, route)
        return stats

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.route(method, route).observe(status, seconds)

    def collect(self):
        requests = CounterMetricFamily("payport_http_requests", "HTTP requests", labels=["method", "route", "status"])
        latency: dict[str, list] = {}  # route -> [bucket counts..., +Inf count, sum], every method together
        for (method, route), stats in sorted(self.routes.items()):
            for status, count in sorted(stats.statuses.items()):
                requests.add_metric([method, route, str(status)], count)
            row = latency.setdefault(route, [0] * (len(LATENCY_BUCKETS) + 1) + [0.0])
            for i, count in enumerate(stats.buckets):
                row[i] += count
            row[-1] += stats.seconds
        yield requests
        family = HistogramMetricFamily("payport_http_request_seconds", "HTTP latency", labels=["route"])
        for route, row in sorted(latency.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), row[:-1], strict=True):
                cumulative += count
                buckets.append((str(bound) if bound != float("inf") else "+Inf", cumulative))
            family.add_metric([route], buckets, sum_value=row[-1])
        yield family


class CacheStats:
    """Cache hits and misses per namespace, counted in plain integers (a dict lookup per request)
    and exported as ``payport_cache_requests_total{namespace,result}``."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def record(self, namespace: str, result: str) -> None:
        key = (namespace, result)
        self.counts[key] = self.counts.get(key, 0) + 1

    def collect(self):
        family = CounterMetricFamily("payport_cache_requests", "Cache lookups", labels=["namespace", "result"])
        for (namespace, result), count in sorted(self.counts.items()):
            family.add_metric([namespace, result], count)
        yield family


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.http = HttpStats()
        r.register(self.http)
        self.cache = CacheStats()
        r.register(self.cache)
        self.cache_errors = Counter("payport_cache_errors_total", "Cache backend errors (served from origin)", ["operation"], registry=r)
        self.rate_limited = Counter("payport_rate_limited_total", "Requests refused by a rate limit", ["policy"], registry=r)
        self.dependency_outages = Counter("payport_dependency_outages_total", "Outages of a dependency (transitions to down)", ["dependency"], registry=r)
        self.rate_limit_fail_open = Counter("payport_rate_limit_fail_open_total", "Rate-limit checks passed because the limiter backend failed", ["policy"], registry=r)
        self.gateway_calls = Counter("payport_gateway_calls_total", "Gateway calls", ["gateway", "operation", "outcome"], registry=r)
        self.gateway_latency = Histogram("payport_gateway_call_seconds", "Gateway call latency", ["gateway", "operation"], buckets=LATENCY_BUCKETS, registry=r)
        self.breaker_state = Gauge("payport_gateway_breaker_state", "Circuit breaker state (0 closed, 1 half-open, 2 open)", ["gateway"], registry=r)
        self.payments = Counter("payport_payments_total", "Payment intents reaching a state", ["gateway", "status"], registry=r)
        self.refunds = Counter("payport_refunds_total", "Refunds reaching a state", ["status"], registry=r)
        self.refunds_attention = Counter("payport_refunds_needing_attention_total",
                                         "Refunds flagged for a person (unresolved, or the gateway needs action)",
                                         ["gateway"], registry=r)
        self.fraud_decisions = Counter("payport_fraud_decisions_total", "Payment attempts judged by the fraud rules",
                                       ["outcome"], registry=r)
        self.order_transitions = Counter("payport_order_transitions_total", "Orders moved by people (fulfil, "
                                         "complete, cancel)", ["status"], registry=r)
        self.webhooks = Counter("payport_webhooks_total", "Webhooks received", ["gateway", "outcome"], registry=r)
        #: which serving process answered (``payport serve --workers N`` runs several)
        self.process = Gauge("payport_process", "The process these figures are from", ["pid"], registry=r)
        self.process.labels(str(os.getpid())).set(1)
        self.events_published = Counter("payport_events_published_total", "Domain events published", ["event"], registry=r)
        self.event_handler_failures = Counter("payport_event_handler_failures_total", "Event handler failures", ["event"], registry=r)

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
