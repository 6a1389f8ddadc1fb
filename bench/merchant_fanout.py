"""Commits raising PaymentCompleted on Postgres, with and without the merchant-webhook fan-out
(PAYPORT_TEST_DB_SUFFIX=... .venv/bin/python bench/merchant_fanout.py)."""
import asyncio, sys, time
from datetime import UTC, datetime
sys.path.insert(0, ".")
from adapters.memory.infrastructure import InMemoryEventBus
from adapters.postgres.pool import create_pool
from adapters.postgres.uow import PostgresUnitOfWorkFactory
from adapters.postgres.merchant_webhooks import PostgresEndpoints
from adapters.system import SystemClock
from application.merchant_webhooks import MerchantWebhookEvents
from domain.events import PaymentCompleted
from domain.merchant_webhooks import Endpoint
from tests.databases import TEST_DSN, prepare_database, truncate_all, with_dbname

class Raised:
    def __init__(self, e): self.events = [e]

async def run(dsn, subscribe, endpoints, n):
    truncate_all(dsn)
    res = create_pool(dsn, maxsize=4); pool = await res.__anext__()
    try:
        store = PostgresEndpoints(pool)
        for i in range(endpoints):
            await store.add(Endpoint.new(f"we_{i}", "https://shop.example/h", ["payment.succeeded", "order.paid"], "", datetime.now(UTC)))
        uow = PostgresUnitOfWorkFactory(pool, InMemoryEventBus())
        if subscribe:
            MerchantWebhookEvents(SystemClock()).subscribe_to(uow)
        async def one(i):
            ev = PaymentCompleted(timestamp=datetime.now(UTC), user_id="u", user_email=None, user_name=None, workspace_id=None,
                                  order_id=f"o{i}", order_number="PP", payment_id=f"p{i}", amount=100, currency="NGN",
                                  gateway="sandbox", gateway_reference=None)
            async with uow() as u:
                u.session.seen.append(Raised(ev))
                await u.commit()
        for i in range(50): await one(-i-1)  # warm up
        t = time.perf_counter()
        for i in range(n): await one(i)
        return (time.perf_counter() - t) / n * 1e6
    finally:
        await res.aclose()

async def main():
    dsn = prepare_database(with_dbname(TEST_DSN, "payport_bench_h1"))
    configs = (("no subscription", False, 0), ("fan-out, 0 endpoints", True, 0), ("fan-out, 1 endpoint", True, 1), ("fan-out, 5 endpoints", True, 5))
    results = {c[0]: [] for c in configs}
    for _ in range(5):  # interleaved rounds: the machine is shared, its load moves
        for label, sub, eps in configs:
            results[label].append(await run(dsn, sub, eps, 500))
    for label, values in results.items():
        print(f"{label:24} {sorted(values)[2]:7.0f} us per commit (median of 5 rounds x 500, interleaved)")
asyncio.run(main())
