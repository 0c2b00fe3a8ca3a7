"""Bulk customer import into PostgreSQL against PostgreSQL's own COPY of the same rows.

    python bench/import_customers.py                 # 100,000 rows (and 10,000 for memory)
    python bench/import_customers.py --rows 1000000  # the full run

Generates a messy CSV (national numbers, +86 with spaces, 86-prefixed, dashes, a second
phone on some rows, e-mails, an extra column, one bad row in a thousand), creates a
database of its own, and measures in a child process each (so ru_maxrss is the import's
own): the import of a file a tenth the size, the import of the full file, and a
re-import of the full file (every row an update). Then it empties the tables and COPYs
the same customers and identities, already normalised, into them: the floor. Between the
re-import and that, a file of a tenth as many other customers is imported into the tables
holding the full file, next to its own floor: COPY of the same rows into the same tables
(rolled back). Prints rows per second, the ratio to COPY, and peak memory.

    python bench/import_customers.py --into contactdesk_bench_scale_5m --rows 100000

imports `--rows` new customers into an existing bench database instead (one that
bench/routing.py or docs/scale.md's generator filled, left as it was found but for the new
rows), next to the same floor: COPY of the same rows into it, rolled back first.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ADMIN_DSN, CUSTOMER_COLUMNS, create_database, drop_database, machine, result

PREFIXES = ("138", "139", "150", "151", "186", "187", "135", "136")
TIERS = ["vip"] * 5 + ["preferred"] * 20 + ["regular"] * 75  # within the 15% / 30% quotas
CITIES = ("Beijing", "Shanghai", "Guangzhou", "Chengdu", "Wuhan")


def customer(n: int) -> dict[str, object]:
    """The ground truth for row n: what the database should hold after the import."""
    nsn = PREFIXES[n % len(PREFIXES)] + f"{n:08d}"
    phones = ["+86" + nsn]
    if n % 20 == 0:
        phones.append("+86159" + f"{n:08d}")
    return {
        "name": f"客户{n}",
        "phones": phones,
        "email": f"user{n}@example.com" if n % 3 == 0 else None,
        "tier": TIERS[n % 100],
        "blacklisted": n % 997 == 0,
        "language": "en" if n % 10 == 0 else "zh",
        "region": CITIES[n % len(CITIES)],
        "plan": f"plan-{n % 7}",
        "bad": n % 1000 == 999,
    }


def messy(e164: str, n: int) -> str:
    nsn = e164[3:]
    return (
        nsn,
        "0" + nsn,
        f"+86 {nsn[:3]} {nsn[3:7]} {nsn[7:]}",
        "86" + nsn,
        f"{nsn[:3]}-{nsn[3:7]}-{nsn[7:]}",
    )[n % 5]


def generate(path: Path, rows: int, first: int = 0) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["name", "phone", "email", "tier", "blacklisted", "language", "region", "plan"])
        for n in range(first, first + rows):
            c = customer(n)
            phones = "12345" if c["bad"] else ";".join(messy(p, n + i) for i, p in enumerate(c["phones"]))  # type: ignore[attr-defined]
            writer.writerow(
                [
                    c["name"],
                    phones,
                    c["email"] or "",
                    c["tier"],
                    "yes" if c["blacklisted"] else "no",
                    c["language"],
                    c["region"],
                    c["plan"],
                ]
            )


def child(path: str, url: str, batch_size: int) -> None:
    """Runs in its own process: import one file, print seconds, counts and ru_maxrss."""
    from sqlalchemy import text

    from handlers.customers import TierLimits
    from handlers.importing import CsvSource, import_customers
    from storage.audit import Actor
    from storage.db import create_engine, create_sessionmaker

    async def run() -> dict[str, float]:
        engine = create_engine(url)
        started = time.perf_counter()
        with CsvSource(path) as source:
            async with create_sessionmaker(engine)() as session:
                # The import keeps this one connection (its batches run one after another):
                # its backend's CPU is PostgreSQL's part of the import.
                backend = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                backend_cpu = _cpu_of(backend)
                # The operator's quotas (15% VIP, 30% preferred); TIERS above stays within them,
                # so the import pays for its first pass over the file (the shares) as in use.
                summary = await import_customers(
                    session,
                    source,
                    actor=Actor(name="bench", via="import"),
                    region="CN",
                    limits=TierLimits(),
                    force_tiers=False,
                    batch_size=batch_size,
                )
        seconds = time.perf_counter() - started
        backend_cpu = _cpu_of(backend) - backend_cpu
        await engine.dispose()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "seconds": seconds,
            "cpu_s": usage.ru_utime + usage.ru_stime,  # the whole process, its start included
            "backend_cpu_s": backend_cpu,
            "created": summary.created,
            "updated": summary.updated,
            "rejected": summary.rejected,
        }

    result = asyncio.run(run())
    result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _cpu_of(pid: int) -> float:
    """CPU seconds a process on this machine has used (user and system); 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def import_in_child(path: Path, url: str, batch_size: int) -> dict[str, float]:
    output = subprocess.run(  # noqa: S603 - ourselves
        [sys.executable, __file__, "--child", str(path), url, str(batch_size)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


async def empty(dsn: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    await connection.execute("TRUNCATE customers, customer_identities RESTART IDENTITY CASCADE")
    await connection.execute("VACUUM ANALYZE customers")
    await connection.execute("VACUUM ANALYZE customer_identities")
    await connection.close()


FLOOR_CPU: dict[str, float] = {}


async def copy_floor(dsn: str, rows: int, first: int = 0, keep: bool = True) -> tuple[float, int]:
    """COPY the already-normalised rows into the same tables (rolled back unless `keep`);
    returns (seconds, customers). FLOOR_CPU gets the CPU seconds of the COPY, this process's
    (encoding the records) and its PostgreSQL backend's."""
    import asyncpg

    now = datetime.now(UTC)
    customers: list[tuple[object, ...]] = []
    identities: list[tuple[object, ...]] = []
    connection = await asyncpg.connect(dsn)
    first_id = int(await connection.fetchval("SELECT coalesce(max(id), 0) FROM customers")) + 1
    for n in range(first, first + rows):
        c = customer(n)
        if c["bad"]:
            continue
        cid = first_id + len(customers)
        customers.append(
            (
                cid,
                c["name"],
                c["tier"],
                c["blacklisted"],
                "set by bulk import" if c["blacklisted"] else None,
                c["language"],
                c["region"],
                json.dumps({"plan": c["plan"]}),
                False,
                now,
                now,
            )
        )
        for phone in c["phones"]:  # type: ignore[attr-defined]
            identities.append((cid, "phone", phone, now))
        if c["email"]:
            identities.append((cid, "email", c["email"], now))
    customer_columns = [column for column in CUSTOMER_COLUMNS if column != "timezone"]
    identity_columns = ["customer_id", "kind", "value", "created_at"]
    backend = int(await connection.fetchval("SELECT pg_backend_pid()"))
    transaction = connection.transaction()
    started, cpu, backend_cpu = time.perf_counter(), time.process_time(), _cpu_of(backend)
    await transaction.start()
    await connection.copy_records_to_table("customers", records=customers, columns=customer_columns)
    await connection.copy_records_to_table(
        "customer_identities", records=identities, columns=identity_columns
    )
    if keep:
        await transaction.commit()
    seconds = time.perf_counter() - started
    FLOOR_CPU.update(client=time.process_time() - cpu, backend=_cpu_of(backend) - backend_cpu)
    if not keep:
        await transaction.rollback()
        await connection.execute("VACUUM customers")
        await connection.execute("VACUUM customer_identities")
    await connection.close()
    return seconds, len(customers)


async def main(rows: int, batch_size: int) -> None:
    from storage.migrate import upgrade

    name, dsn = await create_database()
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    tenth = rows // 10
    print(f"machine: {machine()}; PostgreSQL at 127.0.0.1:5432; batch size {batch_size}", flush=True)
    try:
        await upgrade(url)
        with tempfile.TemporaryDirectory() as scratch:
            small, full, more = (Path(scratch) / f"{name}.csv" for name in ("small", "full", "more"))
            started = time.perf_counter()
            generate(small, tenth)
            generate(full, rows)
            generate(more, tenth, first=rows)  # other customers: new to a table holding `rows`
            print(
                f"generated {tenth:,}, {rows:,} and {tenth:,} rows ({full.stat().st_size / 1e6:.1f} MB) "
                f"in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            first = import_in_child(small, url, batch_size)
            await empty(dsn)
            fresh = import_in_child(full, url, batch_size)
            again = import_in_child(full, url, batch_size)
            # The floor for new customers into a table already holding `rows`: COPY of the
            # same rows into it, rolled back (and vacuumed) so the import meets the same table.
            copy_more_seconds, _ = await copy_floor(dsn, tenth, first=rows, keep=False)
            grown = import_in_child(more, url, batch_size)
            await empty(dsn)
            copy_seconds, copied = await copy_floor(dsn, rows)
    finally:
        await drop_database(name)

    copy_rate = rows / copy_seconds
    copy_more_rate = tenth / copy_more_seconds
    print(f"{'run':<44}{'rows':>10}{'seconds':>9}{'rows/s':>10}{'vs COPY':>9}{'maxrss MB':>11}")
    ratios: dict[str, float] = {}
    for key, label, measured, count, floor in (
        ("small", f"import, {tenth:,} rows, new", first, tenth, copy_rate),
        ("new", f"import, {rows:,} rows, new", fresh, rows, copy_rate),
        ("reimport", f"re-import, {rows:,} rows, updates", again, rows, copy_rate),
        ("into_full", f"import, {tenth:,} new into {rows:,}", grown, tenth, copy_more_rate),
    ):
        rate = count / measured["seconds"]
        ratios[f"{key}_rows_per_s"] = rate
        ratios[f"{key}_vs_copy"] = rate / floor
        print(
            f"{label:<44}{count:>10,}{measured['seconds']:>9.2f}{rate:>10,.0f}{rate / floor:>9.2f}"
            f"{measured['maxrss_mb']:>11.0f}"
        )
        print(
            f"{'':<44}created {measured['created']:.0f}, updated {measured['updated']:.0f}, "
            f"rejected {measured['rejected']:.0f}; CPU: importer {measured['cpu_s']:.2f} s, "
            f"backend {measured['backend_cpu_s']:.2f} s"
        )
    print(
        f"{'COPY of the normalised rows, empty tables':<44}{rows:>10,}{copy_seconds:>9.2f}{copy_rate:>10,.0f}"
        f"{1:>9.2f}{'':>11}  ({copied:,} customers)"
    )
    print(
        f"{f'COPY of {tenth:,} more into {rows:,}':<44}{tenth:>10,}{copy_more_seconds:>9.2f}"
        f"{copy_more_rate:>10,.0f}{1:>9.2f}"
    )
    result(
        rows=rows,
        copy_rows_per_s=copy_rate,
        copy_into_full_rows_per_s=copy_more_rate,
        **ratios,
        maxrss_mb=max(m["maxrss_mb"] for m in (first, fresh, again, grown)),
    )


# Far above any customer the other benches generate, so the new rows' numbers are new
# (customer(n)'s phone has eight digits of n: up to 99,999,999 they stay numbers).
INTO_FIRST = 90_000_000


async def into(database: str, rows: int, batch_size: int) -> None:
    """Import `rows` new customers into a bench database that already holds customers."""
    import asyncpg

    dsn = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{database}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        held = int(await connection.fetchval("SELECT count(*) FROM customers"))
    finally:
        await connection.close()
    print(f"machine: {machine()}; {database} holds {held:,} customers; batch size {batch_size}", flush=True)
    # A second run imports other customers again, not the same ones (a run adds `rows` less
    # its bad rows, so `held` rounded up to `rows` moves past the last run's numbers).
    first = INTO_FIRST + -(-held // rows) * rows
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "more.csv"
        generate(path, rows, first=first)
        copy_seconds, _ = await copy_floor(dsn, rows, first=first, keep=False)
        grown = import_in_child(path, url, batch_size)
    rate, copy_rate = rows / grown["seconds"], rows / copy_seconds
    print(f"{'run':<44}{'rows':>10}{'seconds':>9}{'rows/s':>10}{'vs COPY':>9}{'maxrss MB':>11}")
    print(
        f"{f'COPY of {rows:,} more into {held:,}':<44}{rows:>10,}{copy_seconds:>9.2f}{copy_rate:>10,.0f}{1:>9.2f}"
    )
    print(
        f"{f'import, {rows:,} new into {held:,}':<44}{rows:>10,}{grown['seconds']:>9.2f}{rate:>10,.0f}"
        f"{rate / copy_rate:>9.2f}{grown['maxrss_mb']:>11.0f}"
    )
    print(
        f"{'':<44}CPU of the COPY: this process {FLOOR_CPU['client']:.2f} s, "
        f"its PostgreSQL backend {FLOOR_CPU['backend']:.2f} s"
    )
    print(f"{'':<44}created {grown['created']:.0f}, rejected {grown['rejected']:.0f}")
    print(
        f"{'':<44}CPU: importer {grown['cpu_s']:.2f} s, its PostgreSQL backend {grown['backend_cpu_s']:.2f} s"
    )
    result(
        held=held,
        rows=rows,
        copy_into_rows_per_s=copy_rate,
        into_rows_per_s=rate,
        into_vs_copy=rate / copy_rate,
        into_cpu_s=grown["cpu_s"],
        into_backend_cpu_s=grown["backend_cpu_s"],
        maxrss_mb=grown["maxrss_mb"],
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.exit(0)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--into", metavar="DATABASE", help="an existing contactdesk_bench_* database")
    args = parser.parse_args()
    if args.into is None:
        asyncio.run(main(args.rows, args.batch_size))
    elif not args.into.startswith("contactdesk_bench_"):
        parser.error("--into takes a contactdesk_bench_* database")
    else:
        asyncio.run(into(args.into, args.rows, args.batch_size))
