"""Issue 20's in-process profile (not collected by the suite: run this file by name, with PAYPORT_BENCH_PROFILE_DIR set):
CPU per request of checkout initiate and payment initiate on Postgres + Redis, the aiohttp test
client and the server in one process (so the figure includes the client's share), then a cProfile
of as many requests again, written to $PAYPORT_BENCH_PROFILE_DIR/<name>.txt. bench/RESULTS.md has the command."""
import cProfile
import io
import os
import pstats
import time

import pytest

from entrypoints.settings import RATE_LIMITS

BACKENDS = ("postgres",)
N = int(os.environ.get("PAYPORT_BENCH_PROFILE_N", "200"))
OUT = os.environ.get("PAYPORT_BENCH_PROFILE_DIR")
pytestmark = pytest.mark.skipif(not OUT, reason="a profile, on demand: PAYPORT_BENCH_PROFILE_DIR=<directory>")
LIMITS = {k: (10**6, 60) for k in RATE_LIMITS}


async def measure(name, send, sends_profiled):
    c0, w0 = time.process_time(), time.perf_counter()
    for i in range(N):
        await send(i)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    prof = cProfile.Profile()
    prof.enable()
    for i in range(N, N + sends_profiled):
        await send(i)
    prof.disable()
    s = io.StringIO()
    st = pstats.Stats(prof, stream=s)
    st.sort_stats("tottime").print_stats(30)
    st.sort_stats("cumtime").print_stats("payport|/work/main/(adapters|application|entrypoints|domain)", 40)
    out = f"[profile] {name}: {cpu / N * 1e6:.0f} us CPU/request, {wall / N * 1e6:.0f} us wall/request (N={N})\n"
    open(os.path.join(OUT, f"{name}.txt"), "w").write(out + s.getvalue())
    print(out)


@pytest.mark.settings(rate_limits=LIMITS)
async def test_profile_checkout_initiate(api, backend):
    h = await api.user()
    body = {"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]}
    for _ in range(20):
        await api.json("POST", "/api/v1/checkout/initiate", h, json=body, expect=201)

    async def send(i):
        resp = await api.client.post("/api/v1/checkout/initiate", headers=h, json=body)
        assert resp.status == 201
        await resp.read()
    await measure("checkout_initiate", send, N)


@pytest.mark.settings(rate_limits=LIMITS)
async def test_profile_payment_initiate(api, backend):
    h = await api.user()
    orders = [await api.order(h, items=(("NG-RICE-5KG", 1),)) for _ in range(2 * N + 5)]
    for o in orders[:5]:
        await api.initiate(h, o["id"], "w" + o["id"])
    orders = orders[5:]

    async def send(i):
        o = orders[i]
        resp = await api.client.post("/api/v1/payment/payments/initiate", headers={**h, "Idempotency-Key": o["id"]},
                                     json={"order_id": o["id"]})
        assert resp.status == 201, await resp.read()
        await resp.read()
    await measure("payment_initiate", send, N)
