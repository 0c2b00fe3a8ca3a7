"""Server time of each console page with 1,000,000 customers and 100,000 complaints.

    python bench/pages.py                 # seeds once (a few minutes), then measures
    python bench/pages.py --requests 100  # more requests per page
    python bench/pages.py --reseed        # throw the database away and seed it again

The data lives in a PostgreSQL database of its own (`contactdesk_bench_pages` next to
CONTACTDESK_BENCH_POSTGRES, or --database), created by the real migrations and filled by COPY;
it is kept between runs and seeded again only with --reseed or when its sizes differ from the
ones asked. The migrations run on every start, so a kept database gains a newer branch's schema
(a branch with other migrations wants a --database of its own).

The application runs in this process under aiohttp's test server; a middleware put first in
its chain times each request from the moment the app receives it to the response it returns
(every middleware, the handler, the database, the template; not the socket write). Requests go
one at a time, signed in as the role each page is for, `--warmup` unmeasured first. Two floors
are timed the same way in the same run: an aiohttp handler that does nothing, and one that does
one indexed asyncpg fetch (a caller by phone). A page PASSes when its p95 is under 100 ms.

A page whose route this branch does not have is listed as "not on this branch". Pages are
added to PAGES as they merge; `{…}` in a path is filled from samples of the seeded data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ADMIN_DSN, CALLER_BY_PHONE, copy_customers, machine, percentile, phone, result
from handlers.complaints.policy import department_for
from handlers.roles import ADMIN, AGENT, SUPERVISOR


@dataclass(frozen=True)
class Page:
    path: str  # `{name}` is filled from SAMPLES' `name`, one sample per request in turn
    role: str


PAGES = (
    Page("/agent", AGENT),
    Page("/supervisor", SUPERVISOR),
    Page("/supervisor/campaigns", SUPERVISOR),
    Page("/supervisor/satisfaction", SUPERVISOR),
    Page("/supervisor/audit", SUPERVISOR),
    Page("/complaints", AGENT),
    Page("/complaints?state=open&severity=urgent", AGENT),
    Page("/complaints?q={ticket}", AGENT),
    Page("/complaints?q={name}", AGENT),
    Page("/complaints/{ticket}", AGENT),
    Page("/complaints/escalations", SUPERVISOR),
    Page("/customers?q={prefix}", AGENT),
    Page("/customers?q={phone}", AGENT),
    Page("/customers/{customer_id}", AGENT),
    Page("/admin/users", ADMIN),
)

SEED_VERSION = 2  # a database seeded by another version is seeded again
PASSWORD = "bench-pages-password"
BUDGET_MS = 100.0
AGENTS, SUPERVISORS, ADMINS = 60, 6, 2
QUEUES = ("general", "complaints", "vip", "english", "billing")
CATEGORIES = {"network": 35, "billing": 30, "service": 20, "product": 10, "other": 5}
CHANNELS = {"phone": 45, "telegram": 35, "rasa": 10, "console": 7, "api": 3}
DESCRIPTIONS = {
    "network": ("家里宽带晚上经常断线，重启光猫也没用", "手机信号很差，地下车库完全没有网络", "5G 网速很慢"),
    "billing": ("本月话费多扣了 30 元，没有订过这个业务", "套餐降档后仍按原价收费", "发票抬头错了"),
    "service": ("营业厅工作人员态度差", "打了三次客服电话都没人处理", "装机师傅迟到两个小时"),
    "product": ("IPTV 频道经常卡顿", "云盘容量和宣传的不一致", "新办的副卡无法激活"),
    "other": ("想投诉一下短信广告太多", "积分兑换的礼品一直没到", "携号转网被拒绝"),
}
DISPOSITIONS = ("resolved", "resolved", "information", "callback", "complaint", "sale", "transferred")
PATHS = {
    "received": ("received",),
    "acknowledged": ("received", "acknowledged"),
    "investigating": ("received", "acknowledged", "investigating"),
    "resolved": ("received", "acknowledged", "investigating", "resolved"),
    "reopened": ("received", "acknowledged", "investigating", "resolved", "reopened"),
    "closed": ("received", "acknowledged", "investigating", "resolved", "closed"),
}


def pg(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def state_for(rng: random.Random, age: timedelta) -> str:
    """Young complaints are still open; most older ones are closed, a few stuck or reopened."""
    if age < timedelta(days=1):
        return weighted(rng, {"received": 45, "acknowledged": 35, "investigating": 20})
    if age < timedelta(days=7):
        return weighted(
            rng,
            {
                "received": 4,
                "acknowledged": 16,
                "investigating": 40,
                "resolved": 30,
                "reopened": 3,
                "closed": 7,
            },
        )
    return weighted(rng, {"investigating": 2, "resolved": 10, "reopened": 1, "closed": 87})


@dataclass
class Complaints:
    rows: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    timers: list[tuple[Any, ...]]
    alerts: list[tuple[Any, ...]]


def make_complaints(
    rng: random.Random, count: int, customers: int, agents: list[int], now: datetime
) -> Complaints:
    made = Complaints([], [], [], [])
    for n in range(count):
        complaint_id = n + 1
        age = timedelta(days=min(365.0, rng.expovariate(1 / 40)))
        created = now - age
        category = weighted(rng, CATEGORIES)
        channel = weighted(rng, CHANNELS)
        urgent = rng.random() < 0.1
        state = state_for(rng, age)
        path = PATHS[state]
        ack_due = created + timedelta(hours=2 if urgent else 4)
        resolve_due = created + timedelta(days=1 if urgent else 3)
        steps = [created]
        for _ in path[1:]:
            steps.append(min(now, steps[-1] + timedelta(hours=rng.uniform(0.3, 30))))
        acknowledged = steps[1] if len(steps) > 1 else None
        resolved = steps[3] if len(steps) > 3 else None
        closed = steps[4] if state == "closed" else None
        agent = rng.choice(agents) if channel in ("phone", "console") else None
        attachments = f'[{{"ref": "tg-photo-{n}"}}]' if channel == "telegram" and n % 5 == 0 else "[]"
        made.rows.append(
            (
                complaint_id,
                f"CD-{created.year}-{complaint_id:06d}",
                # a customer in fifty complains; some of them again and again
                rng.randrange(1, customers + 1, 50) if n % 4 else rng.randrange(1, min(2000, customers)),
                category,
                "urgent" if urgent else "standard",
                state,
                rng.choice(DESCRIPTIONS[category]),
                channel,
                department_for(category),
                attachments,
                "已退还多扣费用" if resolved else None,
                "30 元话费" if resolved and n % 9 == 0 else None,
                1 if state == "reopened" else 0,
                agent,
                created,
                steps[-1],
                ack_due,
                resolve_due,
                acknowledged,
                resolved,
                closed,
            )
        )
        for step, (before, after) in enumerate(zip((None, *path), path, strict=False)):
            made.events.append(
                (
                    complaint_id,
                    steps[step],
                    agent if step else None,
                    "user" if agent else "customer",
                    "created" if step == 0 else "transition",
                    before,
                    after if step else None,
                    "已联系客户" if step == 2 else None,
                )
            )
        for kind, due, done in (("acknowledge", ack_due, acknowledged), ("resolve", resolve_due, resolved)):
            late = (done or now) > due
            made.timers.append((complaint_id, kind, due, done, late))
            if late:
                made.events.append((complaint_id, due, None, "system", "escalated", None, None, None))
                if done is None:
                    message = f"CD-{created.year}-{complaint_id:06d} was not {kind}d by {due:%Y-%m-%d %H:%M}"
                    made.alerts.append((due, "deadline_breach", complaint_id, message, None))
    return made


async def copy(connection: Any, table: str, columns: str, records: Any) -> None:
    await connection.copy_records_to_table(table, records=records, columns=columns.split())


async def seed_people(connection: Any, now: datetime) -> list[int]:
    """Agents (with states), supervisors, admins, all with one password; returns agents' ids."""
    from handlers.passwords import hash_password

    digest = hash_password(PASSWORD)
    people = [(f"agent{i}", AGENT) for i in range(AGENTS)]
    people += [(f"supervisor{i}", SUPERVISOR) for i in range(SUPERVISORS)]
    people += [(f"admin{i}", ADMIN) for i in range(ADMINS)]
    await copy(
        connection,
        "users",
        "id login name password_hash role skills languages active created_at",
        (
            (i + 1, login, f"{role} {i}", digest, role, json.dumps(QUEUES[: 1 + i % 4]), '["zh"]', True, now)
            for i, (login, role) in enumerate(people)
        ),
    )
    await connection.execute("SELECT setval('users_id_seq', $1)", len(people) + 1)
    states = ("available", "busy", "break", "offline")
    await copy(
        connection,
        "agent_states",
        "user_id state since capacity active_contacts",
        ((i + 1, states[i % 4], now, 1, 0) for i in range(AGENTS)),
    )
    for name in QUEUES:
        await connection.execute(
            "INSERT INTO queues (name, description, days, timezone) VALUES ($1, '', '[0,1,2,3,4,5,6]', 'Asia/Shanghai')",
            name,
        )
    return list(range(1, AGENTS + 1))


async def seed_holdings(connection: Any, rng: random.Random, customers: int) -> None:
    from handlers.demo import PRODUCTS

    await copy(
        connection,
        "products",
        "id code name category monthly_price",
        ((i + 1, *product) for i, product in enumerate(PRODUCTS)),
    )

    def rows() -> Iterator[tuple[Any, ...]]:
        for customer in range(1, customers + 1):
            held = rng.sample(range(len(PRODUCTS)), rng.choice((0, 1, 1, 1, 2)))
            for product in held:
                since = date(2023, 1, 1) + timedelta(days=rng.randrange(1000))
                yield (customer, product + 1, since, Decimal(PRODUCTS[product][3]))

    await copy(connection, "holdings", "customer_id product_id since monthly_spend", rows())


async def seed_identities(connection: Any, customers: int, now: datetime) -> None:
    """One customer in ten also reaches us on Telegram."""
    await copy(
        connection,
        "customer_identities",
        "customer_id kind value created_at",
        (
            (customer_id, "telegram", str(700_000_000 + customer_id), now)
            for customer_id in range(1, customers + 1, 10)
        ),
    )


async def seed_complaints(
    connection: Any, rng: random.Random, count: int, customers: int, agents: list[int], now: datetime
) -> None:
    made = make_complaints(rng, count, customers, agents, now)
    await copy(
        connection,
        "complaints",
        (
            "id ticket customer_id category severity state description channel department attachments"
            " resolution compensation reopen_count created_by_id created_at updated_at"
            " acknowledge_due_at resolve_due_at acknowledged_at resolved_at closed_at"
        ),
        made.rows,
    )
    await connection.execute("SELECT setval('complaints_id_seq', $1)", count + 1)
    await copy(
        connection,
        "complaint_events",
        "complaint_id at actor_id actor_kind kind from_state to_state note",
        made.events,
    )
    await copy(
        connection,
        "complaint_timers",
        "complaint_id kind due_at done_at escalated",
        made.timers,
    )
    await copy(connection, "alerts", "at kind complaint_id message cleared_at", made.alerts)
    # What the deadline worker and agents' large offers leave on open complaints: the first
    # breach (the escalations queue reads it) and, on one in fifty being investigated, a
    # compensation waiting for a supervisor's approval.
    await connection.execute(
        "UPDATE complaints SET escalated_at = t.first FROM (SELECT complaint_id, min(due_at) AS first"
        " FROM complaint_timers WHERE escalated GROUP BY complaint_id) t"
        " WHERE t.complaint_id = complaints.id"
        " AND state IN ('received', 'acknowledged', 'investigating', 'reopened')"
    )
    await connection.execute(
        "UPDATE complaints SET approval_requested_at = updated_at, approval_requested_by = '坐席一',"
        " approval_resolution = '已退还多扣费用', approval_compensation = '话费减免', approval_amount = 500"
        " WHERE state = 'investigating' AND id % 50 = 0"
    )


async def seed_contacts(
    connection: Any, rng: random.Random, count: int, customers: int, agents: list[int], now: datetime
) -> None:
    """Calls over the last 90 days; the last day's still ringing or in progress."""

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(count):
            customer = rng.randrange(customers) if n % 10 else None
            created = now - timedelta(seconds=rng.randrange(90 * 86_400))
            answered = created + timedelta(seconds=rng.randrange(5, 120))
            seconds = rng.randrange(30, 900)
            done = answered + timedelta(seconds=seconds) < now
            yield (
                "phone",
                "in",
                f"bench-call-{n}",
                None if customer is None else customer + 1,
                phone(customer) if customer is not None else f"+86137{n:08d}",
                "+862000000000",
                rng.choice(QUEUES),
                20,
                rng.choice(agents),
                "route",
                "rule",
                "[]",
                False,
                created,
                created,
                answered,
                answered + timedelta(seconds=seconds) if done else None,
                seconds if done else None,
                rng.choice(DISPOSITIONS) if done else None,
                "{}",
            )

    await copy(
        connection,
        "contacts",
        (
            "channel direction external_id customer_id from_number to_number queue priority agent_id"
            " action reason skills fallback created_at ringing_at answered_at ended_at"
            " duration_seconds disposition extra"
        ),
        rows(),
    )


async def seed_surveys(
    connection: Any, rng: random.Random, count: int, customers: int, complaints: int, now: datetime
) -> None:
    """Surveys over the last 12 weeks; about half answered, mostly contented."""

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(count):
            csat = n % 10 < 7
            created = now - timedelta(seconds=rng.randrange(84 * 86_400))
            answered = rng.random() < 0.45
            score = rng.choices((1, 2, 3, 4, 5), (5, 5, 15, 40, 35))[0] if csat else rng.randrange(11)
            yield (
                rng.randrange(1, customers + 1),
                "csat" if csat else "nps",
                "complaint" if n % 3 == 0 else "call",
                "telegram",
                rng.randrange(1, complaints + 1) if n % 3 == 0 else None,
                created,
                created + timedelta(days=7),
                created + timedelta(hours=2) if answered else None,
                score if answered else None,
            )

    await copy(
        connection,
        "surveys",
        "customer_id kind trigger channel complaint_id created_at expires_at answered_at score",
        rows(),
    )


async def seed_audit(connection: Any, rng: random.Random, count: int, customers: int, now: datetime) -> None:
    """Every card and profile read is an entry: a month of them."""
    actions = ("customer.card", "customer.card", "customer.read", "complaint.read", "customer.search")

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(count):
            agent = rng.randrange(AGENTS)
            customer = rng.randrange(1, customers + 1)
            yield (
                now - timedelta(seconds=(count - n) * 30 * 86_400 // count),
                agent + 1,
                f"agent{agent}",
                "ws" if n % 3 else "console",
                rng.choice(actions),
                "customer",
                str(customer),
                "{}",
                customer,
            )

    await copy(
        connection,
        "audit_log",
        "at actor_id actor via action subject_type subject_id details customer_id",
        rows(),
    )


async def seed_campaigns(connection: Any, rng: random.Random, customers: int, now: datetime) -> None:
    """A year's campaigns to the VIPs; four of them (two finished, one running, one paused) have
    reached every VIP (50,000 targets each at 1,000,000 customers)."""
    kinds = ("satisfaction", "follow_up", "cross_sell")
    states = ("finished",) * 6 + ("cancelled", "running", "running", "paused", "scheduled", "draft")
    vips = [n + 1 for n in range(customers) if n % 100 < 5]  # copy_customers' tiers
    outcomes = ("sent",) * 6 + ("answered", "skipped", "failed", "pending")
    for n, state in enumerate(states):
        starts = now - timedelta(days=30 * (len(states) - n))
        campaign_id = await connection.fetchval(
            "INSERT INTO campaigns (name, kind, channel, state, messages, survey_kind, audience, starts_at,"
            " hour_from, hour_to, weekdays, expanded, timezones, tokens, created_by_id, created_at)"
            " VALUES ($1, $2, 'telegram', $3, $4, $5, $6, $7, 9, 20, '[0,1,2,3,4]', $8, '{}', 0, $9, $7)"
            " RETURNING id",
            f"campaign {n}",
            kinds[n % 3],
            state,
            json.dumps({"zh": "您好，{{ name }}", "en": "Hello {{ name }}"}),
            "csat" if n % 3 == 0 else None,
            json.dumps({"tiers": ["vip"]}),
            starts,
            state not in ("draft", "scheduled"),
            AGENTS + 1,
        )
        if n not in (2, 5, 7, 9):
            continue
        # the running campaign is still sending: its last sends are minutes old
        sending = now - timedelta(hours=2) if state == "running" else starts

        def rows(campaign_id: int = campaign_id, sending: datetime = sending) -> Iterator[tuple[Any, ...]]:
            for customer in vips:
                outcome = rng.choice(outcomes)
                sent = sending + (now - sending) * rng.random() if outcome in ("sent", "answered") else None
                yield (campaign_id, customer, "telegram", None, "zh", "Asia/Shanghai", outcome, 1, now, sent)

        await copy(
            connection,
            "campaign_targets",
            "campaign_id customer_id channel address language timezone status attempts next_attempt_at sent_at",
            rows(),
        )


async def seed(url: str, customers: int, complaints: int) -> None:
    import asyncpg

    connection = await asyncpg.connect(pg(url))
    rng = random.Random(13)
    now = datetime.now(UTC)
    try:
        agents = await seed_people(connection, now)
        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("customers and phones", lambda: copy_customers(connection, customers, now)),
            ("Telegram identities", lambda: seed_identities(connection, customers, now)),
            ("holdings", lambda: seed_holdings(connection, rng, customers)),
            (
                "complaints, events, timers",
                lambda: seed_complaints(connection, rng, complaints, customers, agents, now),
            ),
            ("contacts", lambda: seed_contacts(connection, rng, complaints * 3, customers, agents, now)),
            ("surveys", lambda: seed_surveys(connection, rng, complaints // 2, customers, complaints, now)),
            ("audit trail", lambda: seed_audit(connection, rng, complaints * 3, customers, now)),
            ("campaigns", lambda: seed_campaigns(connection, rng, customers, now)),
            ("ANALYZE", lambda: connection.execute("VACUUM ANALYZE")),
        ]
        for label, step in steps:
            await timed(label, step)
    finally:
        await connection.close()


async def timed(label: str, step: Callable[[], Awaitable[Any]]) -> None:
    started = time.perf_counter()
    await step()
    print(f"  {label}: {time.perf_counter() - started:.0f} s", flush=True)


def sizes(customers: int, complaints: int) -> str:
    return f"seeded v{SEED_VERSION}: {customers} customers, {complaints} complaints"


async def prepare(options: argparse.Namespace) -> str:
    """The seeded database's URL, seeding it first when it is missing, stale or --reseed. The
    migrations run every time: a kept database gains the schema a newer branch adds."""
    import asyncpg

    from storage.migrate import upgrade

    name = options.database
    url = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://")
    wanted = sizes(options.customers, options.complaints)
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        found = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name
        )
        fresh = found != wanted or options.reseed
        if fresh:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await upgrade(url)
    if fresh:
        print(
            f"seeding {options.customers:,} customers and {options.complaints:,} complaints into {name} ..."
        )
        started = time.perf_counter()
        await seed(url, options.customers, options.complaints)
        admin = await asyncpg.connect(ADMIN_DSN)
        await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{wanted}'")
        await admin.close()
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return url


async def samples(url: str, customers: int) -> dict[str, list[str]]:
    """What the pages' paths name: open complaints' tickets, their customers, phones spelt locally."""
    import asyncpg

    connection = await asyncpg.connect(pg(url))
    try:
        rows = await connection.fetch(
            "SELECT c.ticket, c.customer_id, u.name FROM complaints c JOIN customers u ON u.id = c.customer_id"
            " WHERE c.state <> 'closed' ORDER BY c.id DESC LIMIT 20"
        )
    finally:
        await connection.close()
    rng = random.Random(7)
    numbers = [rng.randrange(customers) for _ in range(20)]
    return {
        "ticket": [r["ticket"] for r in rows],
        "customer_id": [str(r["customer_id"]) for r in rows],
        "name": [r["name"] for r in rows],
        "prefix": [r["name"][:2] for r in rows],
        "phone": [f"{phone(n)[3:6]} {phone(n)[6:10]} {phone(n)[10:]}" for n in numbers],
    }


def fill(path: str, found: dict[str, list[str]], n: int) -> str:
    return path.format(**{key: quote(values[n % len(values)]) for key, values in found.items()})


@dataclass
class Timings:
    """What the first middleware saw: seconds per request, in order."""

    seconds: list[float]

    def middleware(self) -> Any:
        from aiohttp import web

        @web.middleware
        async def timer(request: web.Request, handler: Any) -> web.StreamResponse:
            started = time.perf_counter()
            try:
                return await handler(request)
            finally:
                self.seconds.append(time.perf_counter() - started)

        return timer


@dataclass(frozen=True)
class Measured:
    label: str
    role: str
    seconds: list[float]
    skipped: str | None = None


async def run_floors(url: str, options: argparse.Namespace, timings: Timings) -> list[Measured]:
    import asyncpg
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    pool = await asyncpg.create_pool(pg(url), min_size=2, max_size=2)
    rng = random.Random(11)

    async def empty(_request: web.Request) -> web.Response:
        return web.Response(text="")

    async def fetch(_request: web.Request) -> web.Response:
        await pool.fetchrow(CALLER_BY_PHONE, phone(rng.randrange(options.customers)))
        return web.Response(text="")

    app = web.Application(middlewares=[timings.middleware()])
    app.router.add_get("/empty", empty)
    app.router.add_get("/fetch", fetch)
    results = []
    try:
        async with TestClient(TestServer(app)) as client:
            for label, path in (("floor: empty handler", "/empty"), ("floor: one indexed fetch", "/fetch")):
                results.append(await measure(client, timings, label, "-", lambda _n, p=path: p, options))
    finally:
        await pool.close()
    return results


async def measure(
    client: Any,
    timings: Timings,
    label: str,
    role: str,
    path_for: Callable[[int], str],
    options: argparse.Namespace,
) -> Measured:
    deadline = float("inf")
    for n in range(options.warmup + options.requests):
        if n == options.warmup:
            timings.seconds.clear()
            deadline = time.perf_counter() + options.page_seconds
        # a page far over budget gets fewer requests rather than minutes of them
        if time.perf_counter() > deadline and len(timings.seconds) >= 5:
            break
        async with client.get(path_for(n), allow_redirects=False) as response:
            await response.read()
            if response.status != 200:
                return Measured(label, role, [], f"answered {response.status}, not measured")
    return Measured(label, role, list(timings.seconds))


async def run_pages(url: str, options: argparse.Namespace, timings: Timings) -> list[Measured]:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

    from callcenter.app import create_app
    from callcenter.settings import Settings
    from tests.console_client import sign_in

    found = await samples(url, options.customers)
    app = create_app(Settings(database_url=url))
    app.middlewares.insert(0, timings.middleware())
    results = []
    async with TestClient(TestServer(app)) as client:
        for role in (AGENT, SUPERVISOR, ADMIN):
            client.session.cookie_jar.clear()
            signed = await sign_in(client, f"{role}0", PASSWORD)
            assert signed.status == 302, f"{role}0 could not sign in ({signed.status})"
            for page in (p for p in PAGES if p.role == role):
                first = fill(page.path, found, 0)
                match = await app.router.resolve(make_mocked_request("GET", first))
                if isinstance(match.http_exception, web.HTTPNotFound):
                    results.append(Measured(page.path, role, [], "not on this branch"))
                    continue
                results.append(
                    await measure(
                        client, timings, page.path, role, lambda n, p=page.path: fill(p, found, n), options
                    )
                )
    return results


def report(
    results: list[Measured], floors: list[Measured], options: argparse.Namespace, version: str
) -> None:
    empty, fetch = (percentile(f.seconds, 0.5) for f in floors)
    print(
        f"\nmachine: {machine()}; load average {os.getloadavg()[0]:.2f}\nPostgreSQL {version}; "
        f"{options.customers:,} customers, {options.complaints:,} complaints; up to {options.requests} requests "
        f"per page one at a time after {options.warmup} warm-up; server time = first middleware in → response out"
    )
    print(
        f"{'page':42} {'role':10} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
        f" {'p50/empty':>10} {'p50/fetch':>10}  verdict (p95 < {BUDGET_MS:.0f} ms)"
    )
    for m in [*floors, *results]:
        if m.skipped:
            print(f"{m.label:42} {m.role:10} {m.skipped}")
            continue
        p50, p95, top = percentile(m.seconds, 0.5), percentile(m.seconds, 0.95), max(m.seconds)
        verdict = "" if m.role == "-" else ("PASS" if p95 * 1000 < BUDGET_MS else "MISS")
        print(
            f"{m.label:42} {m.role:10} {len(m.seconds):3d} {p50 * 1000:8.3f} {p95 * 1000:8.3f} {top * 1000:8.3f}"
            f" {p50 / empty:9.0f}x {p50 / fetch:9.1f}x  {verdict}"
        )
    measured = [m for m in results if not m.skipped and m.seconds]
    p95s = [percentile(m.seconds, 0.95) * 1000 for m in measured]
    result(
        customers=options.customers,
        pages=len(measured),
        passed=sum(p95 < BUDGET_MS for p95 in p95s),
        missed=sum(p95 >= BUDGET_MS for p95 in p95s),
        worst_p95_ms=max(p95s, default=float("nan")),
        fetch_floor_p50_ms=fetch * 1000,
        worst_p50_vs_fetch=max((percentile(m.seconds, 0.5) / fetch for m in measured), default=float("nan")),
    )


async def main(options: argparse.Namespace) -> None:
    import asyncpg

    url = await prepare(options)
    connection = await asyncpg.connect(pg(url))
    version = str(await connection.fetchval("SHOW server_version"))
    await connection.close()
    timings = Timings([])
    floors = await run_floors(url, options, timings)
    results = await run_pages(url, options, timings)
    report(results, floors, options, version)
    if options.drop:
        admin = await asyncpg.connect(ADMIN_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{options.database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests before them")
    parser.add_argument(
        "--page-seconds", type=float, default=30.0, help="stop a page's requests after this (at least 5)"
    )
    parser.add_argument("--reseed", action="store_true", help="seed the database again")
    parser.add_argument("--drop", action="store_true", help="drop the database when done")
    parser.add_argument(
        "--database",
        default="contactdesk_bench_pages",
        help="the kept database's name (one per branch whose migrations differ)",
    )
    asyncio.run(main(parser.parse_args()))
