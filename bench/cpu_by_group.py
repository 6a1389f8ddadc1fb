"""CPU used by each process group (api, client, postgres, redis, wrk, other) over N seconds, in cores.

    python bench/cpu_by_group.py 6      # bench/ab runs it while the pay path loads the service

Prints a dict such as ``{'api': 0.82, 'postgres': 0.58, 'client': 0.2, 'redis': 0.06, 'other': 0.03}``.
"""
from __future__ import annotations

import collections
import os
import sys
import time


def snapshot() -> dict[str, tuple[int, str]]:
    """pid -> (user + system clock ticks, command line) for every process readable now."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[pid] = (int(fields[11]) + int(fields[12]), cmd)
    return out


def group(cmd: str) -> str:
    if "launch.py" in cmd:
        return "api"
    if "paypath.py" in cmd:
        return "client"
    if cmd.startswith("postgres") or "postgres:" in cmd:
        return "postgres"
    if "redis-server" in cmd:
        return "redis"
    if "wrk" in cmd:
        return "wrk"
    return "other"


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    before, started = snapshot(), time.monotonic()
    time.sleep(seconds)
    after, elapsed = snapshot(), time.monotonic() - started
    used: collections.Counter[str] = collections.Counter()
    for pid, (ticks, cmd) in after.items():
        used[group(cmd)] += ticks - before[pid][0] if pid in before else ticks
    hz = os.sysconf("SC_CLK_TCK")
    print({name: round(ticks / hz / elapsed, 2) for name, ticks in used.most_common()})


if __name__ == "__main__":
    main()
