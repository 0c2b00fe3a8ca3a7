"""Bulk customer import into PostgreSQL against PostgreSQL's own COPY of the same rows.

    python bench/import_customers.py                 # 100,000 rows (and 10,000 for memory)
    python bench/import_customers.py --rows 1000000  # the full run

Generates a messy CSV (national numbers, +86 with spaces, 86-prefixed, dashes, a second
phone on some rows, e-mails, an extra column, one bad row in a thousand), creates a
database of its own, and measures in a child process each (so ru_maxrss is the import's
own): the import of a file a tenth the size, the import of the full file, and a
re-import of the full file (every row an update). Then it empties the tables and COPYs
the same customers and identities, already normalised, into them: the floor. Prints
rows per second, the ratio to COPY, and peak memory at both sizes.
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

from bench._common import create_database, drop_database, machine

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


def generate(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["name", "phone", "email", "tier", "blacklisted", "language", "region", "plan"])
        for n in range(rows):
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
    from handlers.customers import TierLimits
    from handlers.importing import CsvSource, import_customers
    from storage.audit import Actor
    from storage.db import create_engine, create_sessionmaker

    async def run() -> dict[str, float]:
        engine = create_engine(url)
        started = time.perf_counter()
        with CsvSource(path) as source:
            async with create_sessionmaker(engine)() as session:
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
        await engine.dispose()
        return {
            "seconds": seconds,
            "created": summary.created,
            "updated": summary.updated,
            "rejected": summary.rejected,
        }

    result = asyncio.run(run())
    result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


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


async def copy_floor(dsn: str, rows: int) -> tuple[float, int]:
    """COPY the already-normalised rows into the same tables; returns (seconds, customers)."""
    import asyncpg

    now = datetime.now(UTC)
    customers: list[tuple[object, ...]] = []
    identities: list[tuple[object, ...]] = []
    for n in range(rows):
        c = customer(n)
        if c["bad"]:
            continue
        cid = len(customers) + 1
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
    connection = await asyncpg.connect(dsn)
    started = time.perf_counter()
    async with connection.transaction():
        await connection.copy_records_to_table(
            "customers",
            records=customers,
            columns=[
                "id",
                "name",
                "tier",
                "blacklisted",
                "blacklist_reason",
                "language",
                "region",
                "attributes",
                "marketing_opt_out",
                "created_at",
                "updated_at",
            ],
        )
        await connection.copy_records_to_table(
            "customer_identities", records=identities, columns=["customer_id", "kind", "value", "created_at"]
        )
    seconds = time.perf_counter() - started
    await connection.close()
    return seconds, len(customers)


async def main(rows: int, batch_size: int) -> None:
    from storage.migrate import upgrade

    name, dsn = await create_database()
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        await upgrade(url)
        with tempfile.TemporaryDirectory() as scratch:
            small, full = Path(scratch) / "small.csv", Path(scratch) / "full.csv"
            started = time.perf_counter()
            generate(small, rows // 10)
            generate(full, rows)
            print(
                f"generated {rows // 10:,} and {rows:,} rows ({full.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
            )
            first = import_in_child(small, url, batch_size)
            await empty(dsn)
            fresh = import_in_child(full, url, batch_size)
            again = import_in_child(full, url, batch_size)
            await empty(dsn)
            copy_seconds, copied = await copy_floor(dsn, rows)
    finally:
        await drop_database(name)

    copy_rate = rows / copy_seconds
    print(
        f"machine: {machine()}; nproc {os.cpu_count()}; PostgreSQL at 127.0.0.1:5432; batch size {batch_size}"
    )
    print(f"{'run':<34}{'rows':>10}{'seconds':>9}{'rows/s':>10}{'vs COPY':>9}{'maxrss MB':>11}")
    for label, result, count in (
        (f"import, {rows // 10:,} rows, new", first, rows // 10),
        (f"import, {rows:,} rows, new", fresh, rows),
        (f"re-import, {rows:,} rows, updates", again, rows),
    ):
        rate = count / result["seconds"]
        print(
            f"{label:<34}{count:>10,}{result['seconds']:>9.2f}{rate:>10,.0f}{rate / copy_rate:>9.2f}{result['maxrss_mb']:>11.0f}"
        )
        print(
            f"{'':<34}created {result['created']:.0f}, updated {result['updated']:.0f}, rejected {result['rejected']:.0f}"
        )
    print(
        f"{'COPY of the normalised rows':<34}{rows:>10,}{copy_seconds:>9.2f}{copy_rate:>10,.0f}{1:>9.2f}{'':>11}  ({copied:,} customers)"
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
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.batch_size))
