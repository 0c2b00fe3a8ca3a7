"""Inbound routing throughput and latency against two floors measured in the same run.

    python bench/routing.py                      # 100,000 customers, 10 s per target
    python bench/routing.py --customers 1000000  # the full run
    python bench/routing.py --customers 5000000 --database contactdesk_bench_scale_5m --generate

Loads customers into a PostgreSQL database of its own (COPY, or with --generate made by
PostgreSQL itself; contactdesk_bench_routing unless --database names another
contactdesk_bench_* one), reused when it already holds that many customers.
--async-commit runs the application with CONTACTDESK_ROUTING_SYNCHRONOUS_COMMIT=false.

Then it drives, from a second process over loopback, in turn: (1) an aiohttp handler that parses the same CTI request and
returns a fixed answer, (2) one that also does one indexed asyncpg fetch of the caller,
(3) contactdesk's CTI `newCall` webhook, (4) contactdesk's Twilio voice webhook (signed).
Prints throughput, p50 and p99 for each and the ratio of (3) and (4) to floor (2).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    ADMIN_DSN,
    CALLER_BY_PHONE,
    copy_customers,
    drive,
    generate_customers,
    machine,
    phone,
    result,
    summary,
    wait_for_port,
)

CTI_TOKEN = "bench-token"
TWILIO_TOKEN = "bench-twilio"
PUBLIC = "http://127.0.0.1"


BENCH_DATABASE = "contactdesk_bench_routing"


async def open_database(customers: int, name: str = BENCH_DATABASE) -> tuple[str, bool]:
    """The dedicated bench database's DSN, and whether it already holds `customers`
    customers (generating a million takes minutes: a second run reuses them)."""
    import asyncpg

    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    if not exists:
        return dsn, False
    connection = await asyncpg.connect(dsn)
    try:
        held = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'customers'"
        ) and await connection.fetchval("SELECT max(id) FROM customers")
    finally:
        await connection.close()
    return dsn, held == customers


async def reset(url: str) -> None:
    """Each run starts from the same state: no contacts logged, every agent idle."""
    import asyncpg

    from storage.migrate import upgrade

    await upgrade(url)
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    await connection.execute("TRUNCATE contacts")
    await connection.execute(
        "UPDATE agent_states SET active_contacts = 0, state = 'available', since = now()"
    )
    await connection.execute("VACUUM ANALYZE contacts")
    await connection.close()


async def load(url: str, customers: int, server_side: bool = False) -> None:
    import asyncpg

    from storage.migrate import upgrade

    await upgrade(url)
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    await connection.execute(
        "TRUNCATE customers, customer_identities, queues, users, agent_states, contacts CASCADE"
    )
    if server_side:
        await generate_customers(connection, customers)
    else:
        await copy_customers(connection, customers, datetime.now(UTC))
    for queue in ("vip", "complaints", "english", "general", "overflow"):
        await connection.execute(
            "INSERT INTO queues (name, description, days, timezone) VALUES ($1, '', '[0,1,2,3,4,5,6]', 'Asia/Shanghai')",
            queue,
        )
    for i in range(20):
        user_id = await connection.fetchval(
            "INSERT INTO users (login, name, password_hash, role, skills, languages, active, created_at) "
            "VALUES ($1, '', 'x', 'agent', $2, $3, true, now()) RETURNING id",
            f"agent{i}",
            '["general", "complaints", "vip", "billing"]',
            '["zh", "en"]',
        )
        await connection.execute(
            "INSERT INTO agent_states (user_id, state, since, capacity, active_contacts) "
            "VALUES ($1, 'available', now(), 1000000000, 0)",
            user_id,
        )
    await connection.execute("ANALYZE")
    await connection.close()


def serve_floor(kind: str, port: int, dsn: str) -> None:
    from aiohttp import web

    async def make() -> web.Application:
        app = web.Application()
        pool: Any = None
        if kind == "fetch":
            import asyncpg

            pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)

        async def handler(request: web.Request) -> web.Response:
            body = await request.json()
            if pool is not None:
                await pool.fetchrow(CALLER_BY_PHONE, body["from"])
            return web.json_response({"action": "route", "queue": "general", "priority": 20})

        app.router.add_post("/telephony/cti", handler)
        return app

    web.run_app(make(), host="127.0.0.1", port=port, access_log=None, print=None)


def serve_app(port: int, url: str, synchronous_commit: bool = True) -> None:
    import logging

    from aiohttp import web

    from callcenter.app import create_app
    from callcenter.settings import Settings

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(
        database_url=url,
        cti_token=CTI_TOKEN,
        twilio_auth_token=TWILIO_TOKEN,
        public_url=f"{PUBLIC}:{port}",
        routing_synchronous_commit=synchronous_commit,
    )
    web.run_app(create_app(settings), host="127.0.0.1", port=port, access_log=None, print=None)


def cti_request(customers: int) -> Any:
    def make(n: int) -> tuple[dict[str, str], Any, str | None]:
        caller = phone(random.randrange(customers)) if n % 20 else f"+86137{n:08d}"
        body = {
            "event": "newCall",
            "call_id": f"bench-{n}-{random.random()}",
            "from": caller,
            "to": "+862000000000",
            "direction": "in",
        }
        return {"Authorization": f"Bearer {CTI_TOKEN}"}, body, "json"

    return make


def twilio_request(customers: int, port: int) -> Any:
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TWILIO_TOKEN)

    def make(n: int) -> tuple[dict[str, str], Any, str | None]:
        params = {
            "CallSid": f"CA{n}{random.random()}",
            "From": phone(random.randrange(customers)),
            "To": "+862000000000",
            "Direction": "inbound",
            "CallStatus": "ringing",
        }
        signature = validator.compute_signature(f"{PUBLIC}:{port}/telephony/twilio/voice", params)
        return {"X-Twilio-Signature": signature}, params, "form"

    return make


def peak_rss_mb(pid: int | None) -> float:
    """The server process's peak resident memory (Linux), NaN where /proc does not say."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration, ValueError):
        return float("nan")


def cpu_seconds(pid: int | None) -> float:
    """A process's CPU time so far (user + system, Linux), NaN where /proc does not say."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def backends(dsn: str) -> list[int]:
    """The PostgreSQL backends connected to the bench database (the server's pools)."""
    import asyncpg

    async def read() -> list[int]:
        connection = await asyncpg.connect(dsn)
        try:
            rows = await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await connection.close()
        return [row["pid"] for row in rows]

    return asyncio.run(read())


def measure(
    target: Any,
    args: tuple[Any, ...],
    port: int,
    path: str,
    make: Any,
    options: argparse.Namespace,
    dsn: str,
) -> dict[str, float]:
    server = multiprocessing.Process(target=target, args=args, daemon=True)
    server.start()
    try:
        asyncio.run(wait_for_port(port))
        out: Any = multiprocessing.Queue()
        # warm-up, then the measured run
        for duration, count in ((1.0, 500), (options.seconds, options.max_requests)):
            database = backends(dsn)
            server_cpu = cpu_seconds(server.pid)
            database_cpu = sum(cpu_seconds(pid) for pid in database)
            client = multiprocessing.Process(
                target=drive,
                args=(f"http://127.0.0.1:{port}{path}", make, options.concurrency, duration, count, out),
            )
            client.start()
            latencies, elapsed, errors = out.get(timeout=duration + 120)
            client.join()
            server_cpu = cpu_seconds(server.pid) - server_cpu
            database_cpu = sum(cpu_seconds(pid) for pid in database) - database_cpu
        result = summary(latencies, elapsed)
        result["errors"] = errors
        # CPU per request: the server process's own, and its database backends' (those open
        # after the warm-up; on these benches the pools open there and stay)
        result["server_cpu_ms"] = server_cpu * 1000 / max(len(latencies), 1)
        result["server_busy"] = server_cpu / elapsed
        result["database_cpu_ms"] = database_cpu * 1000 / max(len(latencies), 1)
        result["server_mb"] = peak_rss_mb(server.pid)
        return result
    finally:
        server.terminate()
        server.join()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--max-requests", type=int, default=200_000)
    # Another name keeps a second size loaded beside the first (docs/scale.md: 1 M and 5 M).
    parser.add_argument("--database", default=BENCH_DATABASE, help="a contactdesk_bench_* database")
    parser.add_argument(
        "--generate",
        action="store_true",
        help="make the customers in PostgreSQL (generate_series), not by COPY",
    )
    parser.add_argument(
        "--async-commit", action="store_true", help="CONTACTDESK_ROUTING_SYNCHRONOUS_COMMIT=false in the app"
    )
    options = parser.parse_args()
    if not options.database.startswith("contactdesk_bench_"):
        parser.error("--database must start with contactdesk_bench_")

    multiprocessing.set_start_method("fork")
    dsn, loaded = asyncio.run(open_database(options.customers, options.database))
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    print(f"machine: {machine()}; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if loaded:
        print(f"reusing {options.customers:,} customers in {options.database}", flush=True)
    else:
        print(f"loading {options.customers:,} customers into {options.database} ...", flush=True)
        started = time.perf_counter()
        asyncio.run(load(url, options.customers, options.generate))
        seconds = time.perf_counter() - started
        print(f"loaded in {seconds:.0f} s ({options.customers / seconds:,.0f} customers/s)", flush=True)
    asyncio.run(reset(url))
    make_cti = cti_request(options.customers)
    results = {
        "floor: parse + fixed answer": measure(
            serve_floor, ("bare", 18601, dsn), 18601, "/telephony/cti", make_cti, options, dsn
        ),
        "floor: parse + 1 indexed fetch": measure(
            serve_floor, ("fetch", 18602, dsn), 18602, "/telephony/cti", make_cti, options, dsn
        ),
        "contactdesk CTI newCall": measure(
            serve_app, (18603, url, not options.async_commit), 18603, "/telephony/cti", make_cti, options, dsn
        ),
        "contactdesk Twilio voice": measure(
            serve_app,
            (18604, url, not options.async_commit),
            18604,
            "/telephony/twilio/voice",
            twilio_request(options.customers, 18604),
            options,
            dsn,
        ),
    }
    floor = results["floor: parse + 1 indexed fetch"]["rps"]
    commit = "routing commits without waiting for the disk" if options.async_commit else "synchronous commit"
    print(
        f"\n{options.concurrency} concurrent connections, {options.seconds:.0f} s each, one server process, {commit}"
    )
    print(
        f"{'target':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs fetch floor':>15}"
        f" {'server MB':>10} {'server CPU ms':>14} {'db CPU ms':>10}"
    )
    for label, r in results.items():
        print(
            f"{label:34} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {int(r['errors']):7d} {r['rps'] / floor:14.2f}x"
            f" {r['server_mb']:10.0f} {r['server_cpu_ms']:7.3f} ({r['server_busy']:3.0%}) {r['database_cpu_ms']:10.3f}"
        )
    print(
        "CPU ms: per request, the server process's own (the share of one core it kept busy in "
        "brackets) and its PostgreSQL backends'; the load generator's is not counted"
    )
    values: dict[str, float] = {}
    for (_label, r), short in zip(results.items(), ("bare", "floor", "cti", "twilio"), strict=True):
        values.update(
            {f"{short}_rps": r["rps"], f"{short}_p99_ms": r["p99_ms"], f"{short}_errors": r["errors"]}
        )
        values[f"{short}_server_mb"] = r["server_mb"]
        values[f"{short}_server_cpu_ms"] = r["server_cpu_ms"]
        values[f"{short}_database_cpu_ms"] = r["database_cpu_ms"]
        values[f"{short}_vs_floor"] = r["rps"] / floor
    for short in ("cti", "twilio"):
        values[f"{short}_p99_vs_floor_p99"] = values[f"{short}_p99_ms"] / max(values["floor_p99_ms"], 1e-9)
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end")
    result(customers=options.customers, async_commit=options.async_commit, **values)


if __name__ == "__main__":
    main()
