"""The SQLAlchemy pool under a burst: the old 10 + 20 overflow against a pool of 20 without.

    python bench/db_pool.py                  # 64 at once, 10 rounds, each pool twice

Each request checks a session out, runs one short statement (`pg_sleep` of 5 ms, standing in
for a request's work) and hands it back; `--in-flight` requests at a time, `--rounds` times.
Counts the backends each pool opened (SQLAlchemy's `connect` events) and the requests a
second. An overflow connection is closed as soon as it is handed back while the pool is
full, so a burst larger than the pool keeps forking backends; without overflow the burst
waits for the pool's connections instead (storage/db.py, docs/scale.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ADMIN_DSN, machine, result


async def burst(size: int, overflow: int, in_flight: int, rounds: int) -> tuple[int, float]:
    from sqlalchemy import event, text

    from storage.db import create_engine, create_sessionmaker

    engine = create_engine(
        ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=size, max_overflow=overflow
    )
    opened = 0

    @event.listens_for(engine.sync_engine, "connect")
    def _count(_connection: Any, _record: Any) -> None:
        nonlocal opened
        opened += 1

    sessions = create_sessionmaker(engine)

    async def request() -> None:
        async with sessions() as session:
            await session.execute(text("SELECT pg_sleep(0.005)"))

    started = time.perf_counter()
    for _ in range(rounds):
        await asyncio.gather(*(request() for _ in range(in_flight)))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return opened, in_flight * rounds / elapsed


async def main(options: argparse.Namespace) -> None:
    print(f"machine: {machine()}; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    requests = options.in_flight * options.rounds
    print(f"{requests:,} requests, {options.in_flight} at once")
    print(f"{'pool':<22}{'backends opened':>16}{'requests/s':>12}")
    values: dict[str, float] = {}
    for attempt in (1, 2):
        for size, overflow, short in ((10, 20, "old"), (20, 0, "new")):
            opened, rate = await burst(size, overflow, options.in_flight, options.rounds)
            print(f"{f'{size} + {overflow} overflow':<22}{opened:>16}{rate:>12.0f}")
            values[f"{short}_opened_{attempt}"] = opened
            values[f"{short}_rps_{attempt}"] = rate
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end")
    result(requests=requests, in_flight=options.in_flight, **values)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=10)
    asyncio.run(main(parser.parse_args()))
