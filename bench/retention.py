"""What the contact log, the audit log and the outbox cost per month, and what retention costs.

    python bench/retention.py                          # 60 days of 20,000 calls a day
    python bench/retention.py --per-day 50000 --days 90

Creates a database of its own with customers and a history of `--days` days: each day
`--per-day` routed calls in `contacts` (shaped as the routing statement writes them, half
answered, ended and disposed), one `customer.card` audit entry per answered call, and
`--per-day` / 2 outbox messages (a campaign's Telegram sends, sent). Prints the bytes per row
and per day of each table with its indexes, then what deleting the oldest day and the oldest
30 days costs (seconds, WAL written, and the VACUUM after), next to the floor a monthly
partition would give: DROP of a table holding the same 30 days. The audit log's append-only
trigger is disabled for its delete (docs/scale.md: retention of the audit log is a
privileged, out-of-band job).
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

from bench._common import create_database, drop_database, generate_customers, machine, result

TABLES = ("contacts", "audit_log", "outbox")


async def history(connection: Any, customers: int, per_day: int, days: int) -> None:
    """`days` days of calls, card reads and campaign sends, oldest first, one day at a time."""
    await connection.execute("SET synchronous_commit = off")
    agents = [
        await connection.fetchval(
            "INSERT INTO users (login, name, password_hash, role, skills, languages, active, created_at) "
            "VALUES ($1, '', 'x', 'agent', '[\"general\"]', '[\"zh\"]', true, now()) RETURNING id",
            f"agent{i}",
        )
        for i in range(20)
    ]
    first, last = min(agents), max(agents)
    for day in range(days, 0, -1):
        start = f"now() - make_interval(days => {day})"
        await connection.execute(
            f"""
            INSERT INTO contacts (channel, direction, external_id, customer_id, from_number, to_number,
                                  queue, priority, agent_id, action, reason, skills, fallback, created_at,
                                  ringing_at, answered_at, ended_at, duration_seconds, disposition, extra)
            SELECT 'cti', 'in', 'call-{day}-' || n, 1 + (n * 7919 + {day}) % {customers},
                   '+86139' || lpad(((n * 7919 + {day}) % {customers})::text, 8, '0'), '+862000000000',
                   'general', 20, CASE WHEN n % 2 = 0 THEN {first} + n % ({last} - {first} + 1) END,
                   'route', 'regular-customers', '["general"]', false, t, t,
                   CASE WHEN n % 2 = 0 THEN t + interval '12 seconds' END,
                   t + interval '200 seconds', 188, CASE WHEN n % 2 = 0 THEN 'resolved' END, '{{}}'
            FROM generate_series(0, {per_day - 1}) AS n,
                 LATERAL (SELECT {start} + make_interval(secs => n * 86400.0 / {per_day})) AS a(t)
            """
        )
        await connection.execute(
            f"""
            INSERT INTO audit_log (at, actor_id, actor, via, action, subject_type, subject_id, customer_id,
                                   details)
            SELECT t + interval '1 second', {first} + n % ({last} - {first} + 1), 'agent' || n % 20, 'ws',
                   'customer.card', 'customer', (1 + (n * 7919 + {day}) % {customers})::text,
                   1 + (n * 7919 + {day}) % {customers},
                   json_build_object('call_id', 'call-{day}-' || n)::jsonb
            FROM generate_series(0, {per_day - 1}, 2) AS n,
                 LATERAL (SELECT {start} + make_interval(secs => n * 86400.0 / {per_day})) AS a(t)
            """
        )
        await connection.execute(
            f"""
            INSERT INTO outbox (customer_id, channel, address, kind, template, language, payload, status,
                                attempts, next_attempt_at, dedupe_key, created_at, sent_at)
            SELECT 1 + (n * 104729 + {day}) % {customers}, 'telegram', (100000000 + n)::text, 'campaign',
                   'campaigns/satisfaction', 'zh',
                   json_build_object('text', repeat('您好，感谢您的来电。', 6), 'campaign_id', {day})::jsonb,
                   'sent', 1, t, 'campaign:{day}:' || n, t, t + interval '1 second'
            FROM generate_series(0, {per_day // 2 - 1}) AS n,
                 LATERAL (SELECT {start} + make_interval(secs => n * 172800.0 / {per_day})) AS a(t)
            """
        )
    for table in TABLES:
        await connection.execute(f"VACUUM ANALYZE {table}")


async def sizes(connection: Any) -> dict[str, tuple[int, int, int]]:
    """Per table: rows, heap bytes (with TOAST), index bytes."""
    out = {}
    for table in TABLES:
        rows = int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
        heap = int(await connection.fetchval("SELECT pg_table_size($1::regclass)", table))
        indexes = int(await connection.fetchval("SELECT pg_indexes_size($1::regclass)", table))
        out[table] = (rows, heap, indexes)
    return out


async def timed_delete(connection: Any, table: str, column: str, days: int) -> tuple[float, int, int, float]:
    """Delete the oldest `days` days of `table`: (seconds, rows, WAL bytes, VACUUM seconds)."""
    oldest = await connection.fetchval(f"SELECT min({column}) FROM {table}")
    wal = await connection.fetchval("SELECT pg_current_wal_lsn()")
    started = time.perf_counter()
    status = await connection.execute(
        f"DELETE FROM {table} WHERE {column} < $1::timestamptz + make_interval(days => $2)",
        oldest,
        days,
    )
    seconds = time.perf_counter() - started
    written = int(await connection.fetchval("SELECT pg_current_wal_lsn() - $1::pg_lsn", wal))
    started = time.perf_counter()
    await connection.execute(f"VACUUM {table}")
    return seconds, int(status.split()[-1]), written, time.perf_counter() - started


async def partition_drop(connection: Any, days: int) -> float:
    """The floor: a month of contacts as one partition of a range-partitioned copy, dropped."""
    await connection.execute(
        "CREATE TABLE contacts_by_month (LIKE contacts INCLUDING DEFAULTS) PARTITION BY RANGE (created_at)"
    )
    oldest = await connection.fetchval("SELECT min(created_at) FROM contacts")
    await connection.execute(
        "CREATE TABLE contacts_month PARTITION OF contacts_by_month FOR VALUES FROM ($1::timestamptz) TO ($1::timestamptz + make_interval(days => $2))".replace(
            "$1::timestamptz", f"'{oldest.isoformat()}'::timestamptz"
        ).replace("$2", str(days))
    )
    await connection.execute(
        "INSERT INTO contacts_by_month SELECT * FROM contacts WHERE created_at < $1::timestamptz + make_interval(days => $2)",
        oldest,
        days,
    )
    for column in ("created_at", "agent_id, ended_at", "customer_id, created_at"):
        await connection.execute(f"CREATE INDEX ON contacts_by_month ({column})")
    started = time.perf_counter()
    await connection.execute("ALTER TABLE contacts_by_month DETACH PARTITION contacts_month")
    await connection.execute("DROP TABLE contacts_month")
    return time.perf_counter() - started


async def main(options: argparse.Namespace) -> None:
    import asyncpg

    from storage.migrate import upgrade

    name, dsn = await create_database()
    print(f"machine: {machine()}; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    try:
        await upgrade(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
        connection = await asyncpg.connect(dsn)
        try:
            await generate_customers(connection, options.customers)
            started = time.perf_counter()
            await history(connection, options.customers, options.per_day, options.days)
            print(
                f"{options.days} days of {options.per_day:,} calls a day written in "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
            measured = await sizes(connection)
            month = min(30, options.days // 2)
            deletes = {}
            for table, column in (("contacts", "created_at"), ("outbox", "created_at"), ("audit_log", "at")):
                if table == "audit_log":
                    await connection.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
                deletes[(table, 1)] = await timed_delete(connection, table, column, 1)
                deletes[(table, month)] = await timed_delete(connection, table, column, month)
            dropped = await partition_drop(connection, month)
        finally:
            await connection.close()
    finally:
        await drop_database(name)

    print(f"\nload average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{'table':<12}{'rows':>12}{'heap MB':>9}{'index MB':>10}{'bytes/row':>11}{'MB/day':>8}")
    values: dict[str, float] = {}
    for table, (rows, heap, indexes) in measured.items():
        per_row = (heap + indexes) / rows
        per_day = (heap + indexes) / options.days / 1e6
        print(
            f"{table:<12}{rows:>12,}{heap / 1e6:>9.0f}{indexes / 1e6:>10.0f}{per_row:>11.0f}{per_day:>8.1f}"
        )
        values[f"{table}_bytes_per_row"] = per_row
        values[f"{table}_mb_per_day"] = per_day
    print(f"\n{'retention delete':<26}{'rows':>10}{'seconds':>9}{'rows/s':>9}{'WAL MB':>8}{'VACUUM s':>10}")
    for (table, days), (seconds, rows, wal, vacuum) in deletes.items():
        label = f"{table}, {days} day{'s' if days > 1 else ''}"
        print(f"{label:<26}{rows:>10,}{seconds:>9.2f}{rows / seconds:>9,.0f}{wal / 1e6:>8.0f}{vacuum:>10.2f}")
        values[f"{table}_delete_{days}d_s"] = seconds
        values[f"{table}_delete_{days}d_wal_mb"] = wal / 1e6
        values[f"{table}_vacuum_{days}d_s"] = vacuum
    print(f"floor: DETACH + DROP of a partition of {month} days of contacts: {dropped:.3f} s")
    values["partition_drop_s"] = dropped
    result(per_day=options.per_day, days=options.days, **values)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=60)
    asyncio.run(main(parser.parse_args()))
