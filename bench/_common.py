"""Shared bench helpers: a scratch PostgreSQL database, the machine, percentiles, load."""

from __future__ import annotations

import asyncio
import os
import platform
import random
import secrets
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg

ADMIN_DSN = os.environ.get("CONTACTDESK_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


# The floor's one indexed fetch: a caller by phone, as routing and the card start.
CALLER_BY_PHONE = (
    "SELECT c.id, c.tier FROM customer_identities i JOIN customers c ON c.id = i.customer_id "
    "WHERE i.kind = 'phone' AND i.value = $1"
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国志文海波宁晨欣怡浩然子涵雨轩"
PINYIN = (
    "Li Wei",
    "Wang Fang",
    "Zhang Min",
    "Chen Jing",
    "Liu Yang",
    "Emily Chen",
    "John Miller",
    "Anna Wong",
)
REGIONS = ("Guangzhou",) * 4 + ("Shenzhen",) * 3 + ("Foshan", "Dongguan", "Beijing", "Shanghai", "Hangzhou")


CUSTOMER_COLUMNS = [
    "id",
    "name",
    "tier",
    "blacklisted",
    "blacklist_reason",
    "language",
    "region",
    "timezone",
    "attributes",
    "marketing_opt_out",
    "created_at",
    "updated_at",
]


def phone(n: int) -> str:
    """Customer n's phone (id n + 1), as stored (E.164)."""
    return f"+86139{n:08d}"


def customer_name(rng: random.Random, english: bool) -> str:
    if english:
        return rng.choice(PINYIN)
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


async def copy_customers(connection: Any, count: int, now: datetime, seed: int = 13) -> None:
    """`count` customers (ids 1…count) with a phone each, by COPY: tiers 5% VIP, 20% preferred,
    one in 997 blacklisted, one in ten speaking English, signed up over the last three years."""
    rng = random.Random(seed)
    tiers = ["vip"] * 5 + ["preferred"] * 20 + ["regular"] * 75

    def rows() -> Any:
        for n in range(count):
            english = n % 10 == 0
            since = now - timedelta(days=rng.randrange(3 * 365), seconds=rng.randrange(86_400))
            blacklisted = n % 997 == 0
            yield (
                n + 1,
                customer_name(rng, english),
                tiers[n % 100],
                blacklisted,
                "abusive calls" if blacklisted else None,
                "en" if english else "zh",
                rng.choice(REGIONS),
                "Asia/Shanghai",
                "{}",
                n % 20 == 0,
                since,
                since,
            )

    await connection.copy_records_to_table(
        "customers",
        records=rows(),
        columns=CUSTOMER_COLUMNS,
    )
    await copy_phones(connection, count, now)


async def generate_customers(connection: Any, count: int, chunk: int = 500_000) -> None:
    """The same customers as copy_customers (ids, phones, tiers, blacklist, languages and
    opt-outs alike; names and regions drawn by the server), made by PostgreSQL itself with
    generate_series, with no Python in the loop, in chunks that commit as they go: for
    millions of rows (docs/scale.md's 5 M: 309 s at a load average of 8)."""
    names = ",".join("'" + name + "'" for name in PINYIN)
    regions = ",".join("'" + region + "'" for region in REGIONS)
    await connection.execute("SET synchronous_commit = off")
    for start in range(0, count, chunk):
        stop = min(count, start + chunk) - 1
        await connection.execute(
            f"""
            INSERT INTO customers ({", ".join(CUSTOMER_COLUMNS)})
            SELECT n + 1,
                   CASE WHEN n % 10 = 0 THEN (ARRAY[{names}])[(1 + (n / 10) % {len(PINYIN)})::int]
                        ELSE substr('{SURNAMES}', (1 + (n * 7919) % {len(SURNAMES)})::int, 1)
                             || substr('{GIVEN}', (1 + (n * 104729) % {len(GIVEN) - 1})::int, (1 + n % 2)::int) END,
                   CASE WHEN n % 100 < 5 THEN 'vip' WHEN n % 100 < 25 THEN 'preferred' ELSE 'regular' END,
                   n % 997 = 0, CASE WHEN n % 997 = 0 THEN 'abusive calls' END,
                   CASE WHEN n % 10 = 0 THEN 'en' ELSE 'zh' END,
                   (ARRAY[{regions}])[(1 + (n * 31) % {len(REGIONS)})::int],
                   'Asia/Shanghai', '{{}}', n % 20 = 0, t, t
            FROM generate_series({start}::bigint, {stop}) AS n,
                 LATERAL (SELECT now() - make_interval(secs => (n * 2654435761 % (3 * 365 * 86400)))) AS a(t)
            """
        )
        await connection.execute(
            f"""
            INSERT INTO customer_identities (id, customer_id, kind, value, created_at)
            SELECT n + 1, n + 1, 'phone', '+86139' || lpad(n::text, 8, '0'), now()
            FROM generate_series({start}::bigint, {stop}) AS n
            """
        )
    await connection.execute("SELECT setval('customers_id_seq', $1)", count + 1)
    await connection.execute("SELECT setval('customer_identities_id_seq', $1)", count + 1)


async def copy_phones(connection: Any, count: int, now: datetime) -> None:
    """Customers 1…count's phones (identities 1…count), and both sequences moved past them."""
    await connection.copy_records_to_table(
        "customer_identities",
        records=((n + 1, n + 1, "phone", phone(n), now) for n in range(count)),
        columns=["id", "customer_id", "kind", "value", "created_at"],
    )
    await connection.execute("SELECT setval('customers_id_seq', $1)", count + 1)
    await connection.execute("SELECT setval('customer_identities_id_seq', $1)", count + 1)


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.node()}: {os.cpu_count()} cores, {model}, Python {platform.python_version()}, "
        f"load average {load:.1f} at the start"
    )


def key(label: str) -> str:
    """A label as a RESULT key: lower case, words joined by underscores."""
    return "_".join("".join(c if c.isalnum() else " " for c in label.lower()).split())


def result(**values: Any) -> None:
    """The bench's last line, for a script to read: `RESULT key=value …` (floats with three
    significant decimals, no spaces in values)."""

    def text(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
        return str(value).replace(" ", "_")

    print("RESULT " + " ".join(f"{key}={text(value)}" for key, value in values.items()), flush=True)


async def create_database() -> tuple[str, str]:
    name = f"contactdesk_bench_{os.getpid()}_{secrets.token_hex(2)}"
    connection = await asyncpg.connect(ADMIN_DSN)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    base = ADMIN_DSN.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


async def drop_database(name: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds if seconds else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


def drive(
    url: str,
    make_request: Callable[[int], tuple[dict[str, str], Any, str | None]],
    concurrency: int,
    duration: float,
    max_requests: int,
    out: Any,
) -> None:
    """Run in a separate process: POST as fast as `concurrency` connections allow, bounded by
    time and count, to a server on loopback; put (latencies, elapsed, errors) on `out`."""
    import aiohttp

    async def main() -> None:
        latencies: list[float] = []
        errors = 0
        counter = iter(range(max_requests))
        deadline = time.perf_counter() + duration
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                nonlocal errors
                for n in counter:
                    if time.perf_counter() > deadline:
                        return
                    headers, body, content_type = make_request(n)
                    started = time.perf_counter()
                    kwargs: dict[str, Any] = {"headers": headers}
                    if content_type == "json":
                        kwargs["json"] = body
                    else:
                        kwargs["data"] = body
                    async with session.post(url, **kwargs) as response:
                        await response.read()
                        if response.status != 200:
                            errors += 1
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        out.put((latencies, elapsed, errors))

    asyncio.run(main())


async def wait_for_port(port: int, timeout: float = 180) -> None:
    # A forked server imports the whole application first: on a busy two-core machine (load
    # average near 20) that took 41 s, past the 30 s this waited before.
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")
