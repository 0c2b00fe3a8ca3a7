"""What routing costs PostgreSQL itself: the compiled routing statement alone, without HTTP,
next to the one indexed fetch of the caller, with the CPU time of the database's backends.

    python bench/routing_db.py --database contactdesk_bench_routing --customers 1000000

Runs on a database bench/routing.py filled (it must hold `--customers` customers; each run
empties the contact log and frees the agents first). For `--seconds` each, `--concurrency`
callers at once: (1) the floor, `SELECT` of a caller by phone on an asyncpg pool, (2) the
routing statement with the shipped rule file (storage/routing/hot_path.py), through
CompiledRouting as `serve` runs it. Prints statements per second, and the CPU seconds the
backends of that database used (utime + stime from /proc, Linux only) per call: what
sizes the database for a given call rate (docs/scale.md). Background processes (WAL writer,
checkpointer, autovacuum) are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ADMIN_DSN, CALLER_BY_PHONE, machine, phone, result

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / TICKS


async def backend_cpu(admin: Any, database: str) -> float:
    """CPU seconds used so far by the backends connected to `database`."""
    rows = await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    return cpu_seconds([row["pid"] for row in rows])


async def run(call: Any, concurrency: int, seconds: float) -> int:
    done = 0
    deadline = time.perf_counter() + seconds

    async def lane() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return done


async def main(options: argparse.Namespace) -> None:
    import asyncpg

    from bench.routing import reset
    from handlers.routing.compiled import compiled_rules, route_compiled
    from handlers.routing.rules import InboundCall, load_rules
    from storage.routing.hot_path import CompiledRouting
    from storage.routing.queues import QueueView

    dsn = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{options.database}"
    await reset(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
    admin = await asyncpg.connect(ADMIN_DSN)
    print(f"machine: {machine()}; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    rules = load_rules(None)
    compiled = CompiledRouting(
        dsn,
        compiled_rules(rules),
        pool_size=options.concurrency,
        statement_timeout=30,
        synchronous_commit=not options.async_commit,
    )
    queues = {q["name"]: QueueView(**q) for q in await compiled.queues()}
    floor_pool = await asyncpg.create_pool(dsn, min_size=options.concurrency, max_size=options.concurrency)
    serial = iter(range(10**9))

    async def fetch() -> None:
        await floor_pool.fetchrow(CALLER_BY_PHONE, phone(random.randrange(options.customers)))

    async def route() -> None:
        n = next(serial)
        caller = phone(random.randrange(options.customers)) if n % 20 else f"+86137{n:08d}"
        call = InboundCall(f"db-{n}-{random.random()}", caller, dialled="+862000000000")
        await route_compiled(compiled, call, rules, queues, region="CN", now=datetime.now(UTC))

    measured = {}
    try:
        for label, call in (("floor: 1 indexed fetch", fetch), ("routing statement", route)):
            await run(call, options.concurrency, 1.0)  # warm-up
            cpu = await backend_cpu(admin, options.database)
            started = time.perf_counter()
            count = await run(call, options.concurrency, options.seconds)
            elapsed = time.perf_counter() - started
            used = await backend_cpu(admin, options.database) - cpu
            measured[label] = (count / elapsed, used / count * 1000)
    finally:
        await compiled.close()
        await floor_pool.close()
        await admin.close()
    commit = "routing commits without waiting for the disk" if options.async_commit else "synchronous commit"
    print(
        f"\n{options.concurrency} at once, {options.seconds:.0f} s each, {options.customers:,} customers, {commit}"
    )
    print(f"{'target':26}{'per s':>8}{'backend CPU ms/call':>21}{'vs floor':>10}")
    floor_rate, floor_cpu = measured["floor: 1 indexed fetch"]
    for label, (rate, cpu) in measured.items():
        print(f"{label:26}{rate:8.0f}{cpu:21.3f}{rate / floor_rate:9.2f}x")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end")
    rate, cpu = measured["routing statement"]
    result(
        customers=options.customers,
        async_commit=options.async_commit,
        floor_per_s=floor_rate,
        floor_cpu_ms=floor_cpu,
        routing_per_s=rate,
        routing_cpu_ms=cpu,
        routing_vs_floor=rate / floor_rate,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="contactdesk_bench_routing")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--async-commit", action="store_true", help="routing commits without waiting for the disk"
    )
    options = parser.parse_args()
    if not options.database.startswith("contactdesk_bench_"):
        parser.error("--database must start with contactdesk_bench_")
    asyncio.run(main(options))
