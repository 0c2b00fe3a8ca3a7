"""The half-yearly tier review at size: 1,000,000 customers (--customers) with six months of
spend each, 1.5 products each and 100,000 complaints in the year, on PostgreSQL. Times one
review as `contactdesk tiers review` runs it (handlers/tiers/review.py: one INSERT … SELECT
over the whole base) next to the floor, plain aggregate scans of the same tables in the
same run (`SELECT count(*), sum(amount)` of the spend, counts of customers, holdings and
complaints), and prints the review's plan with --plans.

    python bench/tier_review.py                       # a million customers
    python bench/tier_review.py --customers 20000     # what `make bench` runs
    python bench/tier_review.py --database contactdesk_bench_tiers   # seed once, keep it
    python bench/tier_review.py --database contactdesk_bench_tiers   # …and time it again

Seeding a million customers takes minutes; with --database the seeded database is kept and
a second run reuses it (--drop drops it at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from sqlalchemy import text

from bench._common import ADMIN_DSN, create_database, drop_database, machine, result
from callcenter.bootstrap import policies_from
from callcenter.settings import Settings
from handlers.tiers.review import run_review
from storage.audit import SYSTEM
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade

# A long tail of spend: most customers pay 20–60 a month, a few thousands (the A set is
# about a fifth of them), the same customer about the same each month.
SEED = """
INSERT INTO customers (name, tier, blacklisted, attributes, marketing_opt_out, timezone, created_at, updated_at)
SELECT 'customer ' || g,
       (ARRAY['regular','regular','regular','regular','regular','regular','preferred','preferred','vip'])
           [1 + (g % 9)],
       g % 997 = 0, '{}', false, 'Asia/Shanghai', now(), now()
FROM generate_series(1, {customers}) g;
INSERT INTO products (code, name, category, monthly_price)
SELECT 'p' || g, 'Product ' || g, 'mobile', 10 * g FROM generate_series(1, 5) g;
INSERT INTO holdings (customer_id, product_id, since, monthly_spend)
SELECT g, 1 + g % 5, date '2026-01-01' - (g % 3650), 20 FROM generate_series(1, {customers}) g;
INSERT INTO holdings (customer_id, product_id, since, monthly_spend)
SELECT g, 1 + (g + 2) % 5, date '2025-06-01' - (g % 700), 30 FROM generate_series(1, {customers}, 2) g;
INSERT INTO customer_monthly_spend (customer_id, month, amount, paid_late)
SELECT g, m::date,
       round((20 + 3000 * power(((g::bigint * 7919) % 10007) / 10007.0, 6)) * (0.8 + 0.4 * random()))::numeric(12, 2),
       random() < 0.03
FROM generate_series(1, {customers}) g,
     generate_series(date '2025-09-01', date '2026-02-01', interval '1 month') m;
INSERT INTO complaints (ticket, customer_id, category, severity, state, description, channel, department,
                        attachments, reopen_count, verified, created_at, updated_at, acknowledge_due_at,
                        resolve_due_at)
SELECT 'CD-2026-' || lpad(g::text, 7, '0'), 1 + floor(random() * {customers})::int, 'network', 'standard',
       'closed', 'slow line', 'phone', 'customer service', '[]', 0, true, d, d, d, d
FROM (SELECT g, timestamptz '2026-03-15' - random() * interval '360 days' AS d
      FROM generate_series(1, {complaints}) g) s;
VACUUM ANALYZE;
"""

FLOOR = [
    "SELECT count(*), sum(amount) FROM customer_monthly_spend",
    "SELECT count(*) FROM customers WHERE NOT blacklisted",
    "SELECT count(*), sum(monthly_spend) FROM holdings",
    "SELECT count(*) FROM complaints",
]
REVIEW_DAY = datetime(2026, 3, 15, 4, tzinfo=UTC)


async def _named(name: str) -> tuple[str, bool]:
    """The database `name` next to the admin's, created when missing; whether it is new."""
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}", not exists


async def run(customers: int, complaints: int, plans: bool, database: str | None, drop: bool) -> None:
    if database:
        name = database
        dsn, fresh = await _named(database)
    else:
        (name, dsn), fresh, drop = await create_database(), True, True
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    try:
        await upgrade(url)
        print(f"machine: {machine()}\n{customers:,} customers, {complaints:,} complaints")
        engine = create_engine(url, isolation_level="AUTOCOMMIT")  # VACUUM outside a transaction
        started = time.perf_counter()
        async with engine.connect() as connection:
            held = (await connection.execute(text("SELECT count(*) FROM customers"))).scalar()
            if fresh or held != customers:
                if held:
                    raise SystemExit(f"{name} holds {held:,} customers, not {customers:,}: drop it first")
                seed = SEED.replace("{customers}", str(customers)).replace("{complaints}", str(complaints))
                for part in seed.split(";\n"):
                    if part.strip():
                        await connection.execute(text(part))
                print(f"seeded in {time.perf_counter() - started:.0f} s")
            else:
                await connection.execute(text("DELETE FROM tier_proposals"))
                await connection.execute(text("DELETE FROM tier_reviews"))
                await connection.execute(text("VACUUM ANALYZE tier_proposals"))
                print(f"reusing {name}")
            began = time.perf_counter()
            for statement in FLOOR:
                await connection.execute(text(statement))
            floor = time.perf_counter() - began
        await engine.dispose()
        print(f"floor: aggregate scans of spend, customers, holdings, complaints: {floor:.1f} s")

        engine = create_engine(url)
        policy = policies_from(Settings(database_url=url)).tiers
        async with create_sessionmaker(engine)() as session:
            began = time.perf_counter()
            outcome = await run_review(session, SYSTEM, policy, REVIEW_DAY)
            review = time.perf_counter() - began
            assert outcome is not None
            print(
                f"review: {review:.1f} s ({review / floor:.1f}x the floor), {outcome.review.graded:,} graded, "
                f"{outcome.review.proposals:,} proposals: "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(outcome.proposed.items()))
            )
            began = time.perf_counter()
            again = await run_review(session, SYSTEM, policy, REVIEW_DAY)
            second = time.perf_counter() - began
            assert again is not None
            print(f"again (replacing the undecided): {second:.1f} s")
            if plans:
                from storage import tier_review as repo

                print("plan:")
                sql = (
                    repo._GRADE.split("INSERT INTO")[0]
                    + "SELECT proposed, count(*) FROM graded WHERE proposed <> tier GROUP BY 1"
                )
                params = {
                    "spend_from": "'2025-09-01'::date", "spend_to": "'2026-03-01'::date",
                    "complaints_since": "'2025-03-15'::timestamptz", "two_years_ago": "'2024-03-15'::date",
                    "five_years_ago": "'2021-03-15'::date", "vip_quota": "150000", "preferred_quota": "300000",
                    "no": "false", **{k: str(v) for k, v in policy.weights.__dict__.items()},
                }  # fmt: skip
                for k in sorted(params, key=len, reverse=True):
                    sql = sql.replace(f":{k}", params[k])
                plan = await session.execute(text("EXPLAIN ANALYZE " + sql))
                print("\n".join(f"    {line}" for line in plan.scalars()))
        await engine.dispose()
    finally:
        if drop:
            await drop_database(name)
    result(
        customers=customers,
        complaints=complaints,
        floor_s=floor,
        review_s=review,
        again_s=second,
        review_vs_floor=review / floor,
        proposals=outcome.review.proposals,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--plans", action="store_true", help="print the review's EXPLAIN ANALYZE")
    parser.add_argument("--database", help="seed this database once and keep it (reused when it exists)")
    parser.add_argument("--drop", action="store_true", help="drop --database at the end")
    options = parser.parse_args()
    asyncio.run(run(options.customers, options.complaints, options.plans, options.database, options.drop))


if __name__ == "__main__":
    main()
