"""Cached reads of two commits against the baseline, in alternating short slices.

    BENCH_DATABASE_URL=... BENCH_REDIS_URL=... .venv/bin/python bench/ab_reads.py A B [--slices 10] [--script order_detail.lua]

Starts the baseline and payport from each commit (``git archive`` into bench/out/ab-<name>) on one
seeded database and Redis, then runs baseline, A, B (B, A on odd slices) for ``--seconds`` each.
Each payport slice is divided by the baseline slice before it, and B's by A's; the medians are
printed. Host speed drifts by +-20% over minutes here; adjacent slices share the drift.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

import bench as b


def snapshot(commit: str, name: str) -> str:
    target = b.OUT / f"ab-{name}"
    subprocess.run(["rm", "-rf", str(target)], check=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(b.ROOT), "archive", commit], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return str(target)


def start_from(name: str, src: str, port: int):
    env = b.payport_env()
    env["PYTHONPATH"] = src
    return b.start(name, [b.PY, str(b.BENCH / "launch.py"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                   env, port)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--slices", type=int, default=10)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--script", default="order_detail.lua")
    args = p.parse_args()
    if not (b.PG and b.REDIS_URL):
        sys.exit("set BENCH_DATABASE_URL and BENCH_REDIS_URL: both commits must read one seeded database")
    b.OUT.mkdir(exist_ok=True)
    try:
        b.create_database()
        b.start("baseline", [b.PY, str(b.BENCH / "baseline.py"), "--port", str(b.PORT)], dict(os.environ), b.PORT)
        start_from("payport-a", snapshot(args.a, "a"), b.PORT + 1)
        start_from("payport-b", snapshot(args.b, "b"), b.PORT + 2)
        data = b.OUT / "data-a"
        b.seed(b.PORT + 1, data, b.ORDERS)
        for port in (b.PORT + 1, b.PORT + 2):
            b.wrk(args.script, port, data, 3)  # warm both tiers
        rps: dict[str, list[float]] = {"baseline": [], "a": [], "b": []}
        for i in range(args.slices):
            ours = [("a", b.PORT + 1), ("b", b.PORT + 2)]
            rps["baseline"].append(b.wrk("baseline.lua", b.PORT, None, args.seconds)["rps"])
            for name, port in (ours if i % 2 == 0 else ours[::-1]):
                rps[name].append(b.wrk(args.script, port, data, args.seconds)["rps"])
        ratio = {name: [x / base for x, base in zip(rps[name], rps["baseline"], strict=True)] for name in ("a", "b")}
        b_over_a = [y / x for x, y in zip(rps["a"], rps["b"], strict=True)]
        print(json.dumps({"a": args.a, "b": args.b, "script": args.script, "rps": rps,
                          "a_over_baseline": round(statistics.median(ratio["a"]), 3),
                          "b_over_baseline": round(statistics.median(ratio["b"]), 3),
                          "b_over_a": round(statistics.median(b_over_a), 3),
                          "b_over_a_range": [round(min(b_over_a), 3), round(max(b_over_a), 3)]}))
        return 0
    finally:
        b.stop_all()
        b.cleanup_redis()


if __name__ == "__main__":
    sys.exit(main())
