"""The live report's queries over a year of contacts: time and plan of `live()`.

    python bench/live_report.py                       # 2,000,000 contacts over 365 days
    python bench/live_report.py --contacts 10000000   # the issue's year (a few minutes to seed)

A PostgreSQL database of its own (next to CONTACTDESK_BENCH_POSTGRES), migrated, filled by
INSERT … SELECT generate_series: inbound calls to four queues spread evenly over the year up
to now, 90% answered after 0–59 s by one of 50 agents and ended 1–10 min later, the rest
abandoned, and the last 20 still waiting. `live()` then runs `--runs` times in one session
(p50, p95, max) and each of its statements is shown with EXPLAIN (ANALYZE, BUFFERS): today's
rows must come from an index range, the waiting calls from the partial index. The database is
dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text

from bench._common import create_database, drop_database, machine, percentile
from handlers.live_report import live
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade

AGENTS = 50
BATCH = 1_000_000

USERS = f"""
INSERT INTO users (id, login, name, password_hash, role, skills, languages, active, created_at)
SELECT g, 'agent' || g, 'Agent ' || g, 'x', 'agent', '[]', '["zh"]', true, now()
FROM generate_series(1, {AGENTS}) g;
INSERT INTO agent_states (user_id, state, since, capacity, active_contacts)
SELECT g, (ARRAY['available', 'busy', 'wrap_up', 'offline'])[1 + g % 4], now(), 1, 0
FROM generate_series(1, {AGENTS}) g;
SELECT setval('users_id_seq', {AGENTS + 1});
"""

# Row g arrived g/N of a year before now: the newest rows are today's.
CONTACTS = """
INSERT INTO contacts (channel, direction, external_id, queue, priority, agent_id, action, reason,
                      skills, fallback, created_at, ringing_at, answered_at, ended_at, extra)
SELECT 'phone', 'in', 'bench-' || g, (ARRAY['general', 'vip', 'complaints', 'english'])[1 + g % 4],
       0, CASE WHEN g % 10 <> 0 THEN 1 + g % CAST(:agents AS bigint) END, 'route', 'default', '[]', false,
       t, t,
       CASE WHEN g > 20 AND g % 10 <> 0 THEN t + (g % 60) * interval '1 second' END,
       CASE WHEN g > 20 THEN t + (g % 60 + 60 + g % 540) * interval '1 second' END,
       '{}'
FROM (SELECT g, now() - (g::float8 / CAST(:total AS float8)) * interval '365 days' AS t
      FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) g) s
"""


async def seed(url: str, contacts: int) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        for statement in USERS.split(";"):
            if statement.strip():
                await connection.execute(text(statement))
    for first in range(1, contacts + 1, BATCH):
        last = min(first + BATCH - 1, contacts)
        async with engine.begin() as connection:
            await connection.execute(
                text(CONTACTS), {"agents": AGENTS, "total": contacts, "first": first, "last": last}
            )
        print(f"  {last:,} contacts", flush=True)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE contacts"))
    await engine.dispose()


async def measure(url: str, runs: int, zone: ZoneInfo) -> tuple[list[float], list[tuple[str, Any]]]:
    engine = create_engine(url)
    statements: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        statements.append((statement, parameters))

    timings = []
    sessions = create_sessionmaker(engine)
    async with sessions() as session:
        for _ in range(runs):
            started = time.perf_counter()
            await live(session, datetime.now(UTC), zone=zone, threshold_s=20)
            timings.append((time.perf_counter() - started) * 1000)
            await session.rollback()
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        report = await live(session, datetime.now(UTC), zone=zone, threshold_s=20)
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
        print(
            f"today: {sum(q.offered for q in report.queues):,} offered, "
            f"{sum(q.waiting for q in report.queues)} waiting, {len(report.agents)} agents, "
            f"{len(report.intervals)} quarter hours"
        )
        plans = []
        for statement, parameters in statements:
            raw = await session.connection()
            result = await raw.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plans.append((statement, "\n".join(row[0] for row in result)))
    await engine.dispose()
    return timings, plans


async def main(options: argparse.Namespace) -> None:
    name, dsn = await create_database()
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    try:
        await upgrade(url)
        print(f"seeding {options.contacts:,} contacts into {name} ...", flush=True)
        started = time.perf_counter()
        await seed(url, options.contacts)
        print(f"seeded in {time.perf_counter() - started:.0f} s")
        timings, plans = await measure(url, options.runs, ZoneInfo(options.timezone))
        print(machine())
        print(
            f"live(): {len(timings)} runs, p50 {percentile(timings, 0.5):.1f} ms, "
            f"p95 {percentile(timings, 0.95):.1f} ms, max {max(timings):.1f} ms"
        )
        for statement, plan in plans:
            print("\n" + " ".join(statement.split())[:300] + " …\n" + plan)
    finally:
        if options.keep:
            print(f"kept {name}")
        else:
            await drop_database(name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--timezone", default="Asia/Shanghai")
    parser.add_argument("--keep", action="store_true")
    asyncio.run(main(parser.parse_args()))
