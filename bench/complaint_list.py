"""The complaints workbench's list query at size: 1,000,000 customers and 100,000 complaints
on PostgreSQL (--customers, --complaints), each filter and search shape timed (median of 5)
next to the floor, one complaint fetched by its id, and EXPLAINed.

    python bench/complaint_list.py            # the timings
    python bench/complaint_list.py --plans    # and each plan (EXPLAIN ANALYZE)

Seeds a database of its own with SQL (about a minute), migrated to head, then runs
storage/complaint_list.py's one statement for each case through SQLAlchemy and asyncpg, as
the page does. Values are spread with independent random draws, so a combination of filters
matches about as often as it would in a real book of complaints.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from bench._common import create_database, drop_database, key, machine, result
from storage.complaint_list import ListFilter, statement
from storage.complaints import OPEN_STATES
from storage.db import create_engine
from storage.migrate import upgrade

SEED = """
INSERT INTO users (login, name, password_hash, role, skills, languages, active, created_at)
SELECT 'agent' || g, 'Agent ' || g, 'x', 'agent', '[]', '[]', true, now() FROM generate_series(1, 50) g;
INSERT INTO customers (name, tier, blacklisted, attributes, marketing_opt_out, created_at, updated_at)
SELECT (ARRAY['张','王','李','赵','刘','陈','杨','黄'])[1 + floor(random() * 8)::int]
       || (ARRAY['伟','芳','娜','敏','静','丽','强','磊','军','洋'])[1 + floor(random() * 10)::int] || g,
       (ARRAY['regular','regular','regular','preferred','vip'])[1 + floor(random() * 5)::int],
       false, '{}', false, now(), now()
FROM generate_series(1, {customers}) g;
INSERT INTO customer_identities (customer_id, kind, value, created_at)
SELECT g, 'phone', '+86138' || lpad(g::text, 8, '0'), now() FROM generate_series(1, {customers}) g;
INSERT INTO complaints (ticket, customer_id, category, severity, state, description, channel, department,
                        attachments, reopen_count, verified, created_at, updated_at, acknowledge_due_at,
                        resolve_due_at, assignee_id)
SELECT 'CD-2026-' || lpad(g::text, 6, '0'), 1 + floor(random() * {customers})::int,
       (ARRAY['network','billing','service','product','other'])[1 + floor(random() * 5)::int],
       CASE WHEN random() < 0.1 THEN 'urgent' ELSE 'standard' END,
       (ARRAY['received','acknowledged','investigating','resolved','closed','closed','closed','reopened'])
           [1 + floor(random() * 8)::int],
       'The line drops every evening around ' || (g % 24) || ' o''clock; complaint ' || g,
       (ARRAY['telegram','phone','rasa','api','console'])[1 + floor(random() * 5)::int],
       'customer service', '[]', 0, true, d, now(), d + interval '4 hours', d + interval '3 days',
       CASE WHEN random() < 0.3 THEN 1 + floor(random() * 50)::int END
FROM (SELECT g, now() - random() * interval '60 days' AS d FROM generate_series(1, {complaints}) g) s;
VACUUM ANALYZE;
"""


def cases(now: datetime) -> dict[str, tuple[ListFilter, int]]:
    open_ = OPEN_STATES
    return {
        "open, page 1": (ListFilter(states=open_), 0),
        "open, page 20": (ListFilter(states=open_), 950),
        "all states": (ListFilter(), 0),
        "urgent + vip + billing + phone": (
            ListFilter(states=open_, severity="urgent", tier="vip", category="billing", channel="phone"),
            0,
        ),
        "overdue": (ListFilter(states=open_, overdue_at=now), 0),
        "one assignee": (ListFilter(states=open_, assignee_id=7), 0),
        "unassigned": (ListFilter(states=open_, unassigned=True), 0),
        "ticket": (ListFilter(ticket="CD-2026-012345"), 0),
        "phone": (ListFilter(phone="+8613800012345"), 0),
        "a name's beginning": (ListFilter(states=open_, text="张伟1234"), 0),
        "a word in every description": (ListFilter(states=open_, text="evening"), 0),
        "a rare text": (ListFilter(states=open_, text="complaint 54321"), 0),
        "no match": (ListFilter(states=open_, text="zzzqqq"), 0),
    }


# The floor: one complaint by its primary key, through the same engine.
FLOOR = "SELECT * FROM complaints WHERE id = 4242"


async def run(plans: bool, customers: int, complaints: int) -> None:
    name, dsn = await create_database()
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    try:
        await upgrade(url)
        engine = create_engine(url, isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
        async with engine.connect() as connection:
            started = time.perf_counter()
            seed = SEED.replace("{customers}", str(customers)).replace("{complaints}", str(complaints))
            for part in seed.split(";\n"):
                if part.strip():
                    await connection.execute(text(part))
            print(f"machine: {machine()}\n{customers:,} customers, {complaints:,} complaints")
            print(f"seeded in {time.perf_counter() - started:.0f} s\n")
            medians: dict[str, float] = {}
            for label, (wanted, offset) in {
                "floor: one complaint by id": (None, 0),
                **cases(datetime.now(UTC)),
            }.items():
                query = (
                    text(FLOOR)
                    if wanted is None
                    else statement(wanted, limit=51, offset=offset, dialect="postgresql")
                )
                times = []
                for _ in range(5):
                    began = time.perf_counter()
                    await connection.execute(query)
                    times.append((time.perf_counter() - began) * 1000)
                medians[label] = statistics.median(times)
                floor = medians["floor: one complaint by id"]
                print(f"{label:32} median {medians[label]:6.1f} ms {medians[label] / floor:8.1f}x the floor")
                if plans and wanted is not None:
                    sql = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
                    plan = await connection.execute(text("EXPLAIN ANALYZE " + str(sql).replace(":", r"\:")))
                    print("\n".join(f"    {line}" for line in plan.scalars()), "\n")
        await engine.dispose()
    finally:
        await drop_database(name)
    floor = medians.pop("floor: one complaint by id")
    worst = max(medians, key=lambda label: medians[label])
    result(
        customers=customers,
        complaints=complaints,
        floor_ms=floor,
        worst_ms=medians[worst],
        worst_vs_floor=medians[worst] / floor,
        worst=key(worst),
        **{f"{key(label)}_ms": ms for label, ms in medians.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--plans", action="store_true", help="print each query's EXPLAIN ANALYZE")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    options = parser.parse_args()
    asyncio.run(run(options.plans, options.customers, options.complaints))


if __name__ == "__main__":
    main()
