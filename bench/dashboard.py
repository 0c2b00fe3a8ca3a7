"""The supervisor dashboard's queries with 1,000,000 customers and a year of contacts (10 M rows).

    python bench/dashboard.py                  # loads once (minutes), then measures
    python bench/dashboard.py --requests 100   # more runs per target
    python bench/dashboard.py --explain        # and EXPLAIN (ANALYZE, BUFFERS) of every query
    python bench/dashboard.py --reload         # throw the database away and load it again
    python bench/dashboard.py --drop           # drop the database when done (it is ~4 GB)

The data lives in a PostgreSQL database of its own (`contactdesk_bench_dashboard` next to
CONTACTDESK_BENCH_POSTGRES, or --database), built by the real migrations and loaded in SQL
(customers by COPY, contacts by INSERT … SELECT FROM generate_series, the contacts' own indexes
dropped for the load and built again after it). It is kept between runs and loaded again only
with --reload or when its sizes differ; the migrations run on every start, so a kept database
gains a newer branch's indexes. The year: `--contacts` calls over the 364 days before today and
today, all in business hours (08:00–22:00 Asia/Shanghai, busiest mid-afternoon): five queues,
~85% of routed calls answered (wait ~12 s on average, less for VIPs), the rest abandoned, handle
times of 30 s plus ~4 min on average, a few outbound calls, callbacks and rejections that are
not offered, one caller in ten unknown, 50 agents. Today's calls (from 08:00 local, or midnight
before that, until now, at the year's daily rate) are made again on every run so that "today"
is today: some answered, some abandoned, some still talking, some still waiting; the agents'
states follow them. Two liberties: ~27,000 calls a day are more than 50 agents could take
(their calls overlap; what the queries read does not depend on it), and each call is written
once in its final state, where the app inserts it and updates it on answer and hangup (dead
row versions that VACUUM clears in time).

Targets, each run one at a time, `--warmup` unmeasured first:
  live()                  handlers.live_report.live(session, now, zone, threshold_s=20), the
                          whole live report, in this process on the bench's own engine
  GET /api/v1/reports/live  through the real app under aiohttp's test server, signed in as a
  GET /supervisor           supervisor: server time from the first middleware in to the response
  /supervisor/ws snapshot   client time from opening the socket to its first message
The floors are measured the same way in the same run (bench/pages.py's): an aiohttp handler
that does nothing and one that does one indexed asyncpg fetch. The load average (1 min) is
printed beside every figure: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ADMIN_DSN, copy_customers, key, machine, percentile, result
from bench.pages import PASSWORD, Measured, Timings, measure, pg, run_floors
from handlers.roles import ADMIN, AGENT, SUPERVISOR

SEED_VERSION = 1  # a database loaded by another version is loaded again
ZONE = ZoneInfo("Asia/Shanghai")
THRESHOLD_S = 20
AGENTS, SUPERVISORS = 50, 4
QUEUES = ("general", "billing", "complaints", "vip", "english")
BUSINESS_HOURS = 14  # 08:00–22:00 local
CHUNK = 1_000_000  # contacts per INSERT … SELECT
HISTORY, TODAY = "y", "t"  # external ids' prefixes: today's are made again on every run

# One statement makes any range of contacts. Each level is fenced (OFFSET 0) so that every
# random() is drawn once per row and every figure computed once, not once per reference. {created} places the calls in time;
# whatever would have happened after $6 (now) has not: unanswered and still waiting, or answered
# and still talking. With $7 every call is routed and still waiting.
CONTACTS_SQL = """
INSERT INTO contacts (channel, direction, external_id, customer_id, from_number, to_number, queue,
    priority, agent_id, action, reason, skills, fallback, created_at, ringing_at, answered_at,
    ended_at, duration_seconds, disposition, extra)
SELECT 'phone', CASE WHEN action = 'outbound' THEN 'out' ELSE 'in' END, $3 || lpad(n::text, 9, '0'),
    customer_id,
    CASE WHEN customer_id IS NULL THEN '+86137' || lpad((n % 100000000)::text, 8, '0')
         ELSE '+86139' || lpad((customer_id - 1)::text, 8, '0') END,
    '+862000000000',
    CASE WHEN action IN ('route', 'callback') THEN queue END,
    CASE WHEN queue = 'vip' THEN 50 ELSE 20 END,
    CASE WHEN answered_at IS NOT NULL OR action = 'outbound' THEN agent_id END,
    action,
    CASE action WHEN 'route' THEN 'rule-' || queue WHEN 'outbound' THEN 'outbound'
         WHEN 'reject' THEN 'blacklisted' ELSE 'closed' END,
    '[]'::jsonb, false, created_at, created_at, answered_at, ended_at,
    CASE WHEN ended_at IS NOT NULL AND answered_at IS NOT NULL THEN handle_s::int END,
    CASE WHEN ended_at IS NULL THEN NULL
         WHEN answered_at IS NULL THEN CASE action WHEN 'route' THEN 'caller_hangup' END
         ELSE (ARRAY['resolved', 'resolved', 'resolved', 'information', 'callback', 'complaint',
                     'sale', 'transferred'])[1 + (n % 8)::int] END,
    '{{}}'::jsonb
FROM (
    SELECT n, action, queue, customer_id, agent_id, created_at, handle_s,
        CASE WHEN answer_at <= $6 THEN answer_at END AS answered_at,
        CASE WHEN end_at <= $6 THEN end_at END AS ended_at
    FROM (
        SELECT *,
            CASE WHEN NOT $7 AND answers THEN created_at + wait_s * interval '1 s' END AS answer_at,
            CASE WHEN $7 THEN NULL
                 WHEN answers THEN created_at + (wait_s + handle_s) * interval '1 s'
                 ELSE created_at + wait_s * interval '1 s' END AS end_at
        FROM (
            SELECT n, created_at, action, queue, answers, customer_id, agent_id,
                30 + e_handle * 240 AS handle_s,
                CASE WHEN action = 'outbound' THEN 8
                     WHEN action <> 'route' THEN 2
                     WHEN NOT answers THEN 5 + e_wait * 40
                     WHEN queue = 'vip' THEN e_wait * 6
                     WHEN queue = 'general' THEN e_wait * 14
                     ELSE e_wait * 11 END AS wait_s
            FROM (
                SELECT n, created_at, e_wait, e_handle,
                    CASE WHEN $7 THEN 'route' WHEN u_kind < 0.03 THEN 'outbound' WHEN u_kind < 0.045 THEN 'callback'
                         WHEN u_kind < 0.05 THEN 'reject' ELSE 'route' END AS action,
                    CASE WHEN u_queue < 0.5 THEN 'general' WHEN u_queue < 0.7 THEN 'billing'
                         WHEN u_queue < 0.82 THEN 'complaints' WHEN u_queue < 0.92 THEN 'vip'
                         ELSE 'english' END AS queue,
                    u_kind < 0.03 OR (u_kind >= 0.05 AND u_fate < 0.85) AS answers,
                    CASE WHEN u_customer < 0.9 THEN 1 + floor(u_customer / 0.9 * $4)::bigint END AS customer_id,
                    1 + floor(u_agent * $5)::bigint AS agent_id
                FROM (
                    SELECT n, random() AS u_kind, random() AS u_queue, random() AS u_fate,
                        random() AS u_customer, random() AS u_agent,
                        -ln(1 - random()) AS e_wait, -ln(1 - random()) AS e_handle,
                        {created} AS created_at
                    FROM generate_series($1::bigint, $2::bigint) AS n
                    OFFSET 0
                ) draws
                OFFSET 0
            ) kinds
            OFFSET 0
        ) timings
        OFFSET 0
    ) planned
    OFFSET 0
) happened
"""

# A history call's time: one of the $9 days before $8 (today's local midnight), 08:00–22:00
# local, busiest at 15:00. Days are 24 h long: the operator's zone keeps no summer time.
HISTORY_TIME = (
    "$8::timestamptz - (1 + n % $9) * interval '1 day'"
    " + (28800 + (random() + random()) * 25200) * interval '1 s'"
)
# A call today: any time from $8 until now.
TODAY_TIME = "$8::timestamptz + random() * ($6::timestamptz - $8::timestamptz)"


@dataclass(frozen=True)
class Day:
    """Today's calls: how many, from when; `waiting` more have rung in the last five minutes."""

    start: datetime
    calls: int
    waiting: int


def midnight(now: datetime) -> datetime:
    """The operator's today began at this instant."""
    return now.astimezone(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)


def today_for(now: datetime, per_day: int) -> Day:
    local = now.astimezone(ZONE)
    opens = midnight(now) + timedelta(hours=8)
    start = opens if local - opens > timedelta(minutes=10) else midnight(now)
    share = (local - start) / timedelta(hours=BUSINESS_HOURS)
    return Day(start.astimezone(UTC), max(1, round(per_day * share)), waiting=12)


async def load_history(connection: Any, options: argparse.Namespace, now: datetime) -> None:
    """The 364 days before today, a day's share of --contacts each, CHUNK rows per statement."""
    per_day = options.contacts // 365
    rows = per_day * 364
    today = midnight(now)
    for lo in range(1, rows + 1, CHUNK):
        hi = min(rows, lo + CHUNK - 1)
        started = time.perf_counter()
        await connection.execute(
            CONTACTS_SQL.format(created=HISTORY_TIME),
            lo,
            hi,
            HISTORY,
            options.customers,
            AGENTS,
            now,
            False,
            today,
            364,
        )
        print(f"    contacts {lo:,}–{hi:,}: {time.perf_counter() - started:.0f} s", flush=True)


async def refresh_today(connection: Any, options: argparse.Namespace, now: datetime) -> Day:
    """Today's calls made again for this run's `now`, and the agents' states to match them."""
    day = today_for(now, options.contacts // 365)
    await connection.execute(
        "DELETE FROM contacts WHERE channel = 'phone' AND external_id >= $1 AND external_id < $2",
        TODAY,
        chr(ord(TODAY) + 1),
    )
    common = (options.customers, AGENTS, now)
    await connection.execute(
        CONTACTS_SQL.format(created=TODAY_TIME), 1, day.calls, TODAY, *common, False, day.start
    )
    await connection.execute(
        CONTACTS_SQL.format(created=TODAY_TIME),
        day.calls + 1,
        day.calls + day.waiting,
        TODAY,
        *common,
        True,
        now - timedelta(minutes=5),
    )
    # Busy while talking; the others spread over the other states, in them for up to half an hour.
    await connection.execute(
        "UPDATE agent_states s SET active_contacts = talking.n,"
        " state = CASE WHEN talking.n > 0 THEN 'busy'"
        "   ELSE (ARRAY['available', 'available', 'wrap_up', 'offline'])[1 + s.user_id % 4] END,"
        " since = $1::timestamptz - make_interval(secs => (s.user_id * 37) % 1800)"
        " FROM (SELECT a.user_id, (SELECT count(*) FROM contacts c WHERE c.agent_id = a.user_id"
        "   AND c.ended_at IS NULL AND c.answered_at IS NOT NULL) AS n FROM agent_states a) talking"
        " WHERE talking.user_id = s.user_id",
        now,
    )
    # Index cleanup every time: otherwise the calls earlier runs made for today stay in the indexes
    # (VACUUM skips them when under 2% of pages are dead) and each run reads more than the last.
    await connection.execute("VACUUM (ANALYZE, INDEX_CLEANUP ON) contacts, agent_states")
    return day


async def load_people(connection: Any, now: datetime) -> None:
    """The queues, 50 agents (with states), supervisors and an admin, all with one password."""
    from handlers.passwords import hash_password

    people = [(f"agent{i}", AGENT) for i in range(AGENTS)]
    people += [(f"supervisor{i}", SUPERVISOR) for i in range(SUPERVISORS)]
    people += [("admin0", ADMIN)]
    digest = hash_password(PASSWORD)
    await connection.executemany(
        "INSERT INTO users (id, login, name, password_hash, role, skills, languages, active, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, '[\"zh\"]', true, $7)",
        [
            (i + 1, login, f"{role} {i}", digest, role, f'["{QUEUES[i % 5]}", "general"]', now)
            for i, (login, role) in enumerate(people)
        ],
    )
    await connection.execute("SELECT setval('users_id_seq', $1)", len(people) + 1)
    await connection.execute(
        "INSERT INTO agent_states (user_id, state, since, capacity, active_contacts)"
        " SELECT n, 'available', $1, 1, 0 FROM generate_series(1, $2) AS n",
        now,
        AGENTS,
    )
    await connection.executemany(
        "INSERT INTO queues (name, description, days, timezone) VALUES ($1, '', '[0,1,2,3,4,5,6]', $2)",
        [(name, ZONE.key) for name in QUEUES],
    )


async def without_indexes(connection: Any, table: str, load: Callable[[], Awaitable[None]]) -> None:
    """Run `load` with `table`'s indexes dropped (all but those behind constraints, whose keys
    arrive in order) and build them again after it: far faster than keeping them up row by row."""
    indexes = await connection.fetch(
        "SELECT c.relname, pg_get_indexdef(c.oid) AS definition FROM pg_index x"
        " JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indrelid = $1::regclass"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)",
        table,
    )
    for index in indexes:
        await connection.execute(f'DROP INDEX "{index["relname"]}"')
    await load()
    for index in indexes:
        started = time.perf_counter()
        await connection.execute(index["definition"])
        print(f"    {index['relname']}: {time.perf_counter() - started:.0f} s", flush=True)


async def load(url: str, options: argparse.Namespace) -> float:
    """Everything but today's calls; returns the seconds it took."""
    import asyncpg

    connection = await asyncpg.connect(pg(url))
    now = datetime.now(UTC)
    started = time.perf_counter()
    try:
        # The load's own rows are consistent by construction: no foreign-key triggers per row.
        await connection.execute("SET session_replication_role = replica")
        await connection.execute("SET maintenance_work_mem = '1GB'")
        await connection.execute("SET synchronous_commit = off")
        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("queues, users, agent states", lambda: load_people(connection, now)),
            ("customers and phones (COPY)", lambda: copy_customers(connection, options.customers, now)),
            (
                "a year of contacts (INSERT … SELECT), then their indexes",
                lambda: without_indexes(
                    connection, "contacts", lambda: load_history(connection, options, now)
                ),
            ),
            ("VACUUM ANALYZE", lambda: connection.execute("VACUUM ANALYZE")),
        ]
        for label, step in steps:
            began = time.perf_counter()
            print(f"  {label} ...", flush=True)
            await step()
            print(f"  {label}: {time.perf_counter() - began:.0f} s", flush=True)
    finally:
        await connection.close()
    return time.perf_counter() - started


def sizes(options: argparse.Namespace) -> str:
    return f"loaded v{SEED_VERSION}: {options.customers} customers, {options.contacts} contacts"


async def prepare(options: argparse.Namespace) -> str:
    """The loaded database's URL, loading it first when it is missing, stale or --reload."""
    import asyncpg

    from storage.migrate import upgrade

    name = options.database
    url = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://")
    wanted = sizes(options)
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        found = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name
        )
        fresh = options.reload or not (found or "").startswith(wanted + ";")
        if fresh:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    started = time.perf_counter()
    await upgrade(url)
    print(
        f"migrations: {time.perf_counter() - started:.1f} s (builds a newer branch's indexes on a kept database)"
    )
    if fresh:
        print(f"loading {options.customers:,} customers and {options.contacts:,} contacts into {name} ...")
        seconds = await load(url, options)
        found = f"{wanted}; loaded in {seconds:.0f} s on {datetime.now(UTC):%Y-%m-%d}"
        admin = await asyncpg.connect(ADMIN_DSN)
        await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{found}'")
        await admin.close()
    print(f"database {name}: {found}", flush=True)
    return url


async def run_live(url: str, options: argparse.Namespace) -> Measured:
    """live() itself, a session per run as the app opens one per request."""
    from handlers.live_report import live
    from storage.db import create_engine, create_sessionmaker

    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    seconds: list[float] = []
    deadline = float("inf")
    try:
        for n in range(options.warmup + options.requests):
            if n == options.warmup:
                seconds.clear()
                deadline = time.perf_counter() + options.page_seconds
            if time.perf_counter() > deadline and len(seconds) >= 5:
                break
            started = time.perf_counter()
            async with sessions() as session:
                try:
                    await live(session, datetime.now(UTC), zone=ZONE, threshold_s=THRESHOLD_S)
                except NotImplementedError:
                    return Measured("live()", "-", [], "not implemented on this branch")
            seconds.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return Measured("live()", "-", seconds)


def always(path: str) -> Callable[[int], str]:
    return lambda _n: path


async def run_app(url: str, options: argparse.Namespace, timings: Timings) -> list[Measured]:
    from aiohttp import WSMsgType, web
    from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

    from callcenter.app import create_app
    from callcenter.settings import Settings
    from tests.console_client import sign_in

    app = create_app(Settings(database_url=url, timezone=ZONE.key, service_level_seconds=THRESHOLD_S))
    app.middlewares.insert(0, timings.middleware())
    results = []
    async with TestClient(TestServer(app)) as client:
        signed = await sign_in(client, "supervisor0", PASSWORD)
        assert signed.status == 302, f"supervisor0 could not sign in ({signed.status})"
        for path in ("/api/v1/reports/live", "/supervisor"):
            match = await app.router.resolve(make_mocked_request("GET", path))
            if isinstance(match.http_exception, web.HTTPNotFound):
                results.append(Measured(f"GET {path}", SUPERVISOR, [], "not on this branch"))
                continue
            results.append(await measure(client, timings, f"GET {path}", SUPERVISOR, always(path), options))

        # The page is a frame; what a supervisor waits for is the socket's first snapshot.
        seconds: list[float] = []
        for n in range(options.warmup + options.requests):
            started = time.perf_counter()
            async with client.ws_connect("/supervisor/ws") as socket:
                message = await socket.receive(timeout=60)
                if message.type != WSMsgType.TEXT:
                    results.append(Measured("/supervisor/ws snapshot", SUPERVISOR, [], f"got {message.type}"))
                    break
            if n >= options.warmup:
                seconds.append(time.perf_counter() - started)
        else:
            results.append(Measured("/supervisor/ws snapshot", SUPERVISOR, seconds))
    return results


async def statements(url: str, call: Callable[[Any], Awaitable[Any]]) -> list[tuple[str, Any]]:
    """What `call(session)` sends to the database: each statement and its parameters."""
    from sqlalchemy import event

    from storage.db import create_engine, create_sessionmaker

    engine = create_engine(url)
    sent: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def note(_c: Any, _cursor: Any, statement: str, parameters: Any, _x: Any, _many: bool) -> None:
        sent.append((statement, parameters))

    try:
        async with create_sessionmaker(engine)() as session:
            await call(session)
    finally:
        await engine.dispose()
    return sent


async def explain(url: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement live() runs, and of main's supervisor
    snapshot (agents.floor), as SQLAlchemy sent them; scans of contacts are listed at the end."""
    import asyncpg

    from handlers import agents
    from handlers.live_report import live

    async def by_live(session: Any) -> None:
        await live(session, datetime.now(UTC), zone=ZONE, threshold_s=THRESHOLD_S)

    async def by_floor(session: Any) -> None:
        await agents.floor(session, datetime.now(UTC))

    scans: list[str] = []
    connection = await asyncpg.connect(pg(url))
    try:
        for label, call in (("live()", by_live), ("/supervisor/ws snapshot: agents.floor()", by_floor)):
            try:
                sent = await statements(url, call)
            except NotImplementedError:
                print(f"\n== {label}: not implemented on this branch")
                continue
            for n, (statement, parameters) in enumerate(sent, 1):
                plan = await connection.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *(parameters or ()))
                lines = [row[0] for row in plan]
                print(f"\n== {label}, query {n} of {len(sent)}; parameters {parameters}\n{statement}\n--")
                print("\n".join(lines))
                if any("Seq Scan on contacts" in line for line in lines):
                    scans.append(f"{label} query {n}: {lines[-1].strip()}")
    finally:
        await connection.close()
    print("\nscans of contacts (Seq Scan): " + ("; ".join(scans) if scans else "none"))


def figures(seconds: list[float], empty: float, fetch: float) -> str:
    """n, p50, p95 and max in ms, and p50 against both floors' p50."""
    p50, p95 = percentile(seconds, 0.5), percentile(seconds, 0.95)
    return (
        f"{len(seconds):4d} {p50 * 1000:9.2f} {p95 * 1000:9.2f} {max(seconds) * 1000:9.2f}"
        f" {p50 / empty:9.0f}x {p50 / fetch:9.1f}x"
    )


def report(
    results: list[Measured],
    floors: list[Measured],
    loads: dict[str, float],
    options: argparse.Namespace,
    version: str,
    day: Day,
    counted: int,
) -> None:
    empty, fetch = (percentile(f.seconds, 0.5) for f in floors)
    print(
        f"\nmachine: {machine()}\nPostgreSQL {version}; {options.customers:,} customers, {counted:,} contacts"
        f" ({day.calls + day.waiting:,} today since {day.start.astimezone(ZONE):%H:%M} {ZONE.key});"
        f" up to {options.requests} runs per target one at a time after {options.warmup} warm-up"
    )
    print(
        f"{'target':34} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}"
        f" {'p50/empty':>10} {'p50/fetch':>10} {'load 1m':>8}"
    )
    for m in [*floors, *results]:
        print(f"{m.label:34} {m.skipped or figures(m.seconds, empty, fetch)} {loads[m.label]:8.2f}")
    values: dict[str, float] = {"fetch_floor_p50_ms": fetch * 1000}
    for m in results:
        if not m.skipped:
            values[f"{key(m.label)}_p50_ms"] = percentile(m.seconds, 0.5) * 1000
            values[f"{key(m.label)}_p50_vs_fetch"] = percentile(m.seconds, 0.5) / fetch
    result(customers=options.customers, contacts=counted, **values)


async def main(options: argparse.Namespace) -> None:
    import asyncpg

    url = await prepare(options)
    connection = await asyncpg.connect(pg(url))
    try:
        started = time.perf_counter()
        day = await refresh_today(connection, options, datetime.now(UTC))
        print(f"today's {day.calls + day.waiting:,} calls made again: {time.perf_counter() - started:.1f} s")
        version = str(await connection.fetchval("SHOW server_version"))
        counted = int(await connection.fetchval("SELECT count(*) FROM contacts"))
    finally:
        await connection.close()
    if options.explain:
        await explain(url)
    loads: dict[str, float] = {}
    timings = Timings([])
    floors = await run_floors(url, options, timings)
    loads.update((f.label, os.getloadavg()[0]) for f in floors)
    results = [await run_live(url, options)]
    loads[results[0].label] = os.getloadavg()[0]
    for measured in await run_app(url, options, timings):
        results.append(measured)
        loads[measured.label] = os.getloadavg()[0]
    report(results, floors, loads, options, version, day, counted)
    if options.drop:
        admin = await asyncpg.connect(ADMIN_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{options.database}" WITH (FORCE)')
        await admin.close()
        print(f"dropped {options.database}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=10_000_000, help="a year of them")
    parser.add_argument("--requests", type=int, default=50, help="measured runs per target")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured runs before them")
    parser.add_argument(
        "--page-seconds", type=float, default=30.0, help="stop a target's runs after this (at least 5)"
    )
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of each query"
    )
    parser.add_argument("--reload", action="store_true", help="load the database again")
    parser.add_argument("--drop", action="store_true", help="drop the database when done")
    parser.add_argument("--database", default="contactdesk_bench_dashboard", help="the kept database's name")
    asyncio.run(main(parser.parse_args()))
