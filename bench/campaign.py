"""A campaign to a million customers on PostgreSQL: expansion into the outbox, then dispatch.

    python bench/campaign.py                                  # 1,000,000 customers, 20,000 sends
    python bench/campaign.py --customers 100000 --send 5000   # a quick run
    python bench/campaign.py --workers 2 --profile /tmp/w.prof

Loads customers into a PostgreSQL database of its own (generate_series, in SQL): each with a
Telegram identity, half with a phone, a tier, a region, time zone Asia/Shanghai, a third
with a product; a few blacklisted, opted out or with a blocked chat. Then, in the same run:

Expansion
  floor        one plain INSERT … SELECT of the same rows (same columns, same values) into a
               table built like campaign_targets (same indexes and foreign keys)
  contactdesk  handlers.campaigns.expand_due for a follow-up campaign with the same audience:
               batches of --expansion-batch customer ids, one INSERT … SELECT each
  The two are checked to have written the same rows.

Dispatch (the rate limit lifted: RateLimiter(0, 0)), against a Bot API stand-in running in a
process of its own (tests/telegram_standin.py over real HTTP), with --workers processes of
--concurrency messages in flight each, every target measured after --warmup messages:
  ceiling      the stand-in's own ceiling: raw aiohttp POSTs of the same sendMessage form
  channel      TelegramChannel.send alone (aiogram, no database)
  contactdesk  handlers.campaigns.dispatch_once in a loop, for --send messages
  no-op        the same with a channel that sends nothing: contactdesk's own ceiling, so
               "limited by the channel, not by us" can be read off the table
  p50 is one request (ceiling), one channel.send (channel) or one message's deliver: the
  render, the rules and the mark, the send (contactdesk; the channel's share in brackets);
  the outcomes are recorded per batch, outside it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import multiprocessing
import pstats
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import create_database, drive, drop_database, machine, percentile, result, wait_for_port

TOKEN = "123456:BENCH"
STANDIN_PORT = 18621
TIMEZONE = "Asia/Shanghai"
TIERS = ("vip", "preferred", "regular")
REGIONS = ("north", "east", "south", "west", "central")
MESSAGES = {
    "zh": "您好 {{ name }}，感谢您上周联系我们。回复本消息即可继续上次的咨询。",
    "en": "Hello {{ name }}, thank you for contacting us last week. Reply to pick up where we left off.",
}
FLOOR_TABLE = "bench_floor_targets"
TARGET_COLUMNS = "campaign_id, customer_id, channel, address, language, timezone, status, reason, attempts, next_attempt_at"


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def chat_id(n: int) -> int:
    return 700_000_000 + n


def floor_text(n: int) -> str:
    return MESSAGES["zh"].replace("{{ name }}", f"customer {n}")


# --- data ------------------------------------------------------------------------------------


async def load(dsn: str, customers: int) -> str:
    """Customers, identities, blocked chats, products and holdings, all in SQL; returns the
    server's version and settings."""
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            """
            INSERT INTO customers (id, name, tier, blacklisted, language, region, timezone, attributes,
                                   marketing_opt_out, created_at, updated_at)
            SELECT g, 'customer ' || g,
                   CASE WHEN g % 100 < 5 THEN 'vip' WHEN g % 100 < 25 THEN 'preferred' ELSE 'regular' END,
                   g % 997 = 0,
                   CASE WHEN g % 10 = 0 THEN 'en' ELSE 'zh' END,
                   ($2::text[])[1 + g % 5],
                   $3, '{}'::jsonb, g % 101 = 0, now(), now()
            FROM generate_series(1, $1::bigint) AS g
            """,
            customers,
            list(REGIONS),
            TIMEZONE,
        )
        await connection.execute(
            """
            INSERT INTO customer_identities (id, customer_id, kind, value, created_at)
            SELECT g, g, 'telegram', ($2::bigint + g)::text, now() FROM generate_series(1, $1::bigint) AS g
            UNION ALL
            SELECT $1::bigint + g, g, 'phone', '+86139' || lpad(g::text, 8, '0'), now()
            FROM generate_series(2, $1::bigint, 2) AS g
            """,
            customers,
            chat_id(0),
        )
        await connection.execute(
            "INSERT INTO telegram_blocked_chats (chat_id, blocked_at) "
            "SELECT ($2::bigint + g)::text, now() FROM generate_series(500, $1::bigint, 500) AS g",
            customers,
            chat_id(0),
        )
        await connection.execute(
            "INSERT INTO products (id, code, name, category, monthly_price) "
            "SELECT p, 'plan-' || p, 'Plan ' || p, 'mobile', 10 * p FROM generate_series(1, 8) AS p"
        )
        await connection.execute(
            "INSERT INTO holdings (id, customer_id, product_id, since, monthly_spend) "
            "SELECT g / 3, g, 1 + g % 8, date '2024-01-01' + (g % 700)::int, 10 "
            "FROM generate_series(3, $1::bigint, 3) AS g",
            customers,
        )
        for table, last in (
            ("customers", customers),
            ("customer_identities", customers + customers // 2),
            ("products", 8),
            ("holdings", customers // 3),
        ):
            await connection.execute(f"SELECT setval('{table}_id_seq', $1)", max(last, 1))
        # Hint bits and the visibility map set once here, so neither timed writer pays for them.
        await connection.execute("VACUUM ANALYZE")
        settings = [
            str(await connection.fetchval(f"SHOW {name}"))
            for name in ("server_version", "shared_buffers", "synchronous_commit")
        ]
    finally:
        await connection.close()
    return f"PostgreSQL {settings[0]} (shared_buffers {settings[1]}, synchronous_commit {settings[2]})"


def audience_of(options: argparse.Namespace) -> dict[str, Any]:
    audience: dict[str, Any] = {}
    if options.tiers:
        audience["tiers"] = options.tiers.split(",")
    if options.regions:
        audience["regions"] = options.regions.split(",")
    return audience


def floor_insert(audience: dict[str, Any]) -> tuple[str, list[Any]]:
    """The same rows as the expansion writes for a Telegram follow-up, as one plain statement:
    the eligible customers, their chat unless it blocked the bot (then `skipped`, no channel)."""
    where = ["NOT c.blacklisted", "NOT c.marketing_opt_out", "c.merged_into_id IS NULL"]
    args: list[Any] = []
    for key, column in (("tiers", "tier"), ("regions", "region")):
        if audience.get(key):
            args.append(audience[key])
            where.append(f"c.{column} = ANY(${len(args) + 1}::text[])")
    sendable = "i.value IS NOT NULL AND b.chat_id IS NULL"
    sql = f"""
        INSERT INTO {FLOOR_TABLE} ({TARGET_COLUMNS})
        SELECT $1::bigint, c.id,
               CASE WHEN {sendable} THEN 'telegram' ELSE 'none' END,
               CASE WHEN {sendable} THEN i.value END,
               coalesce(c.language, 'zh'), coalesce(c.timezone, '{TIMEZONE}'),
               CASE WHEN {sendable} THEN 'pending' ELSE 'skipped' END,
               CASE WHEN {sendable} THEN NULL ELSE 'no_channel' END,
               0, now()
        FROM customers c
        LEFT JOIN customer_identities i ON i.customer_id = c.id AND i.kind = 'telegram'
        LEFT JOIN telegram_blocked_chats b ON b.chat_id = i.value
        WHERE {" AND ".join(where)}
    """
    return sql, args


# --- expansion -------------------------------------------------------------------------------


@contextmanager
def timed(module: Any, names: tuple[str, ...], totals: dict[str, float]) -> Iterator[None]:
    """Add up the time spent in some coroutine functions of a module (the bench's own
    instrumentation: the module attribute is swapped for a timing wrapper and put back)."""
    originals = {name: getattr(module, name) for name in names}

    def wrap(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                totals[name] = totals.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    for name, function in originals.items():
        setattr(module, name, wrap(name, function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(module, name, function)


async def expansion(url: str, options: argparse.Namespace) -> dict[str, Any]:
    import asyncpg

    from handlers import campaigns
    from handlers.campaigns import CampaignSpec, Policy
    from storage.campaigns import expansion as expansion_repo
    from storage.campaigns import views
    from storage.db import create_engine, create_sessionmaker
    from storage.models.base import utcnow

    dsn = asyncpg_dsn(url)
    audience = audience_of(options)
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    connection = await asyncpg.connect(dsn)
    try:
        spec = CampaignSpec(
            name="a million follow-ups",
            kind="follow_up",
            messages=dict(MESSAGES),
            audience=audience,
            hour_from=0,
            hour_to=24,
            starts_at=utcnow() - timedelta(minutes=1),
        )
        async with sessions() as session:
            campaign = await campaigns.create(session, spec, created_by=None, schedule=False)
        # The floor's table: campaign_targets' columns, defaults, indexes and foreign keys.
        await connection.execute(
            f"""
            CREATE TABLE {FLOOR_TABLE} (LIKE campaign_targets INCLUDING ALL);
            ALTER TABLE {FLOOR_TABLE}
                ADD FOREIGN KEY (campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE,
                ADD FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE;
            """
        )
        sql, args = floor_insert(audience)
        await connection.execute("CHECKPOINT")
        started = time.perf_counter()
        floor_rows = int((await connection.execute(sql, campaign.id, *args)).split()[-1])
        floor_seconds = time.perf_counter() - started

        async with sessions() as session:
            await campaigns.act(session, campaign.id, "schedule")
        policy = Policy(expansion_batch=options.expansion_batch)
        parts: dict[str, float] = {}
        await connection.execute("CHECKPOINT")
        with (
            timed(expansion_repo, ("expand_batch", "add_timezones", "finish_expansion"), parts),
            timed(views, ("get",), parts),
        ):
            started = time.perf_counter()
            written = await campaigns.expand_due(sessions, policy)
            expand_seconds = time.perf_counter() - started

        differ = await connection.fetchval(
            f"""
            SELECT count(*) FROM (
                (SELECT customer_id, channel, address, language, timezone, status, reason
                 FROM {FLOOR_TABLE}
                 EXCEPT ALL
                 SELECT customer_id, channel, address, language, timezone, status, reason
                 FROM campaign_targets WHERE campaign_id = $1)
                UNION ALL
                (SELECT customer_id, channel, address, language, timezone, status, reason
                 FROM campaign_targets WHERE campaign_id = $1
                 EXCEPT ALL
                 SELECT customer_id, channel, address, language, timezone, status, reason
                 FROM {FLOOR_TABLE})
            ) AS d
            """,
            campaign.id,
        )
        pending = await connection.fetchval(
            "SELECT count(*) FROM campaign_targets WHERE campaign_id = $1 AND status = 'pending'", campaign.id
        )
        await connection.execute(f"DROP TABLE {FLOOR_TABLE}")
        # The dispatchers' plans: what autovacuum would have done a moment later anyway.
        await connection.execute("ANALYZE campaign_targets")
    finally:
        await connection.close()
        await engine.dispose()
    return {
        "campaign_id": campaign.id,
        "floor_rows": floor_rows,
        "floor_seconds": floor_seconds,
        "written": written,
        "expand_seconds": expand_seconds,
        "parts": parts,
        "differ": int(differ),
        "pending": int(pending),
    }


# --- the Bot API stand-in ----------------------------------------------------------------------


def serve_standin(port: int) -> None:
    from aiohttp import web

    from tests.telegram_standin import BotApiStandIn

    standin = BotApiStandIn()

    async def stats(_: web.Request) -> web.Response:
        sent = standin.sent()
        chats = {str(call.params.get("chat_id")) for call in sent}
        cpu = time.process_time()
        return web.json_response({"sent": len(sent), "chats": len(chats), "cpu_s": cpu})

    async def reset(_: web.Request) -> web.Response:
        standin.calls.clear()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    app.router.add_post("/bot{token}/{method}", standin.handle)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def standin_call(base: str, method: str, path: str) -> dict[str, Any]:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.request(method, f"{base}{path}") as response:
        return dict(await response.json())


def make_send(n: int) -> tuple[dict[str, str], Any, str | None]:
    # The form aiogram posts for send_message: chat_id and text, urlencoded.
    return {}, {"chat_id": str(chat_id(n)), "text": floor_text(n)}, "form"


def fan_out(target: Any, args_for: Any, options: argparse.Namespace) -> dict[str, float]:
    """Run `target` in one process per worker, a warm-up pass then the measured one; each
    process puts (latencies, elapsed, errors) on the queue it is given last."""
    out: Any = multiprocessing.Queue()
    result: dict[str, float] = {}
    for count in (options.warmup, options.send):
        per_process = max(1, count // options.workers)
        clients = [
            multiprocessing.Process(target=target, args=(*args_for(i, per_process), out))
            for i in range(options.workers)
        ]
        for client in clients:
            client.start()
        answers = [out.get(timeout=900) for _ in clients]
        for client in clients:
            client.join()
        latencies = [value for answer in answers for value in answer[0]]
        elapsed = max(answer[1] for answer in answers)
        result = {
            "messages": len(latencies),
            "rate": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 0.5) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
            "errors": sum(answer[2] for answer in answers),
            "cpu_ms": sum(answer[3] for answer in answers if len(answer) > 3) * 1000 / len(latencies),
        }
    return result


def ceiling(base: str, options: argparse.Namespace) -> dict[str, float]:
    """Raw aiohttp clients, one process per worker, each with the same requests in flight."""
    url = f"{base}/bot{TOKEN}/sendMessage"
    return fan_out(drive, lambda _i, n: (url, make_send, options.concurrency, 600.0, n), options)


def drive_channel(base: str, first: int, count: int, concurrency: int, out: Any) -> None:
    """TelegramChannel.send with nothing else: what the channel itself allows."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from bot.sender import RateLimiter, TelegramChannel
    from handlers.campaigns import Outbound

    async def main() -> None:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
        channel = TelegramChannel(bot, RateLimiter(0, 0))
        latencies: list[float] = []
        failures = 0
        numbers = iter(range(first, first + count))

        async def worker() -> None:
            nonlocal failures
            for n in numbers:
                item = Outbound(str(chat_id(n)), floor_text(n), "zh", "follow_up", {"target_id": n})
                started = time.perf_counter()
                delivery = await channel.send(item)
                latencies.append(time.perf_counter() - started)
                failures += delivery.status != "sent"

        try:
            started, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            await bot.session.close()
        out.put((latencies, elapsed, failures, cpu))

    asyncio.run(main())


def channel_alone(base: str, options: argparse.Namespace) -> dict[str, float]:
    return fan_out(drive_channel, lambda i, n: (base, i * n, n, options.concurrency), options)


# --- contactdesk dispatch ----------------------------------------------------------------------


class Window:
    """Shared between the worker processes: messages sent so far, and the measured window
    (from the moment --warmup messages were sent to the moment --send more were)."""

    def __init__(self) -> None:
        self.total = multiprocessing.Value("q", 0)
        self.start_count = multiprocessing.Value("q", -1)
        self.start_at = multiprocessing.Value("d", 0.0)
        self.end_count = multiprocessing.Value("q", -1)
        self.end_at = multiprocessing.Value("d", 0.0)
        self.stop = multiprocessing.Event()

    def add(self, sent: int, warmup: int, send: int, exhausted: bool) -> None:
        with self.total.get_lock():
            self.total.value += sent
            now = time.monotonic()
            if self.start_count.value < 0 and self.total.value >= warmup:
                self.start_count.value, self.start_at.value = self.total.value, now
            if self.end_count.value < 0 and (self.total.value >= warmup + send or exhausted):
                self.end_count.value, self.end_at.value = self.total.value, now
                self.stop.set()


def dispatch_worker(
    index: int, url: str, base: str, options: argparse.Namespace, window: Window, null: bool, out: Any
) -> None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from bot.sender import RateLimiter, TelegramChannel
    from handlers import campaigns
    from handlers.campaigns import Delivery, Outbound, Policy
    from handlers.campaigns import dispatch as campaign_dispatch
    from storage.db import create_engine, create_sessionmaker

    # (finished at, seconds) of every deliver and every channel.send in this process
    whole: list[tuple[float, float]] = []
    wire: list[tuple[float, float]] = []
    outcomes: dict[str, int] = {}
    # (monotonic, process CPU seconds) after every pass: this process's CPU in the window
    clocks: list[tuple[float, float]] = []

    class NoChannel:
        """Sends nothing and says it went: what contactdesk manages without any channel."""

        async def send(self, item: Outbound) -> Delivery:
            return Delivery("sent")

    class TimedChannel:
        def __init__(self, inner: TelegramChannel | NoChannel) -> None:
            self._inner = inner

        async def send(self, item: Outbound) -> Delivery:
            started = time.monotonic()
            try:
                return await self._inner.send(item)
            finally:
                finished = time.monotonic()
                wire.append((finished, finished - started))

    deliver = campaign_dispatch.deliver

    async def timed_deliver(*args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return await deliver(*args, **kwargs)
        finally:
            finished = time.monotonic()
            whole.append((finished, finished - started))

    campaign_dispatch.deliver = timed_deliver  # the bench's instrumentation, in this process only

    async def main() -> None:
        policy = Policy(
            expansion_batch=options.expansion_batch,
            dispatch_batch=options.dispatch_batch,
            concurrency=options.concurrency,
        )
        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
        channel = TimedChannel(NoChannel() if null else TelegramChannel(bot, RateLimiter(0, 0)))
        idle = 0
        try:
            while not window.stop.is_set():
                done = await campaigns.dispatch_once(sessions, channel, policy)
                for status, n in done.items():
                    outcomes[status] = outcomes.get(status, 0) + n
                idle = 0 if done else idle + 1
                window.add(done.get("sent", 0), options.warmup, options.send, exhausted=idle >= 3)
                clocks.append((time.monotonic(), time.process_time()))
        finally:
            await bot.session.close()
            await engine.dispose()

    profiler = cProfile.Profile() if options.profile and index == 0 and not null else None
    if profiler is not None:
        profiler.enable()
    try:
        asyncio.run(main())
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(options.profile)
    out.put((whole, wire, outcomes, clocks))


def dispatch(
    url: str, base: str, options: argparse.Namespace, campaign_id: int, null: bool = False
) -> dict[str, Any]:
    import asyncpg

    window = Window()
    out: Any = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=dispatch_worker, args=(i, url, base, options, window, null, out))
        for i in range(options.workers)
    ]
    for worker in workers:
        worker.start()
    answers = [out.get(timeout=3600) for _ in workers]
    for worker in workers:
        worker.join()
    start, end = window.start_at.value, window.end_at.value
    sent = window.end_count.value - window.start_count.value
    elapsed = end - start
    whole = [s for answer in answers for at, s in answer[0] if start < at <= end]
    wire = [s for answer in answers for at, s in answer[1] if start < at <= end]
    outcomes: dict[str, int] = {}
    for answer in answers:
        for status, n in answer[2].items():
            outcomes[status] = outcomes.get(status, 0) + n

    cpu = 0.0
    for answer in answers:
        inside = [used for at, used in answer[3] if start <= at <= end + 0.05]
        if inside:
            cpu += inside[-1] - inside[0]

    async def check() -> tuple[dict[str, Any], dict[str, int]]:
        received = await standin_call(base, "GET", "/stats")
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            rows = await connection.fetch(
                "SELECT status, count(*) AS n FROM campaign_targets WHERE campaign_id = $1 GROUP BY status",
                campaign_id,
            )
        finally:
            await connection.close()
        return received, {row["status"]: row["n"] for row in rows}

    received, statuses = asyncio.run(check())
    return {
        "messages": sent,
        "rate": sent / elapsed if elapsed > 0 else float("nan"),
        "elapsed": elapsed,
        "p50_ms": percentile(whole, 0.5) * 1000,
        "p99_ms": percentile(whole, 0.99) * 1000,
        "wire_p50_ms": percentile(wire, 0.5) * 1000,
        "outcomes": outcomes,
        "received": received,
        "statuses": statuses,
        "errors": sum(n for status, n in outcomes.items() if status != "sent"),
        "cpu_ms": cpu * 1000 / sent if sent else float("nan"),
        "busy": cpu / elapsed if elapsed > 0 else float("nan"),
    }


# --- the run -----------------------------------------------------------------------------------


def standin_cpu(base: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`run`'s figures, with the stand-in's CPU per message it received meanwhile (the warm-up
    included: the stand-in cannot tell the measured window)."""
    before = asyncio.run(standin_call(base, "GET", "/stats"))
    figures = run()
    after = asyncio.run(standin_call(base, "GET", "/stats"))
    received = after["sent"] - before["sent"]
    figures["standin_cpu_ms"] = (after["cpu_s"] - before["cpu_s"]) * 1000 / received if received else 0.0
    return figures


def cpu_cell(figures: dict[str, Any]) -> str:
    if not figures.get("cpu_ms"):
        return "-"
    busy = f" ({figures['busy']:.0%})" if "busy" in figures else ""
    return f"{figures['cpu_ms']:.2f}{busy}"


def standin_cell(figures: dict[str, Any]) -> str:
    return f"{figures['standin_cpu_ms']:.2f}" if "standin_cpu_ms" in figures else "-"


def print_profile(path: str, lines: int = 30) -> None:
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(path, stream=text).strip_dirs().sort_stats(order).print_stats(lines)
        body = text.getvalue()
        print(f"\nworker 0 under cProfile, top {lines} by {order}:")
        print(body[body.find("   ncalls") :].rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--expansion-batch", type=int, default=10_000, help="Policy.expansion_batch")
    parser.add_argument("--send", type=int, default=20_000, help="messages measured per dispatch target")
    parser.add_argument("--warmup", type=int, default=1_000, help="messages before the measurement")
    parser.add_argument("--workers", type=int, default=1, help="dispatch worker processes")
    parser.add_argument("--concurrency", type=int, default=8, help="Policy.concurrency (per worker)")
    parser.add_argument("--dispatch-batch", type=int, default=100, help="Policy.dispatch_batch")
    parser.add_argument("--tiers", default="", help="audience filter, e.g. vip,preferred (default: all)")
    parser.add_argument("--regions", default="", help="audience filter, e.g. north,east (default: all)")
    parser.add_argument("--profile", default="", help="run worker 0 under cProfile, stats to this file")
    options = parser.parse_args()

    multiprocessing.set_start_method("fork")
    name, dsn = asyncio.run(create_database())
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    base = f"http://127.0.0.1:{STANDIN_PORT}"
    standin = None
    try:
        print(f"machine: {machine()}")
        print(f"loading {options.customers:,} customers into {name} ...", flush=True)
        from storage.migrate import upgrade_sync

        started = time.perf_counter()
        upgrade_sync(url)
        server = asyncio.run(load(dsn, options.customers))
        print(f"loaded in {time.perf_counter() - started:.0f} s; {server}", flush=True)

        print("expansion: plain INSERT … SELECT, then expand_due ...", flush=True)
        expanded = asyncio.run(expansion(url, options))
        if expanded["pending"] < options.warmup + options.send:
            print(f"note: only {expanded['pending']:,} targets to send; dispatch stops when they run out")

        standin = multiprocessing.Process(target=serve_standin, args=(STANDIN_PORT,), daemon=True)
        standin.start()
        asyncio.run(wait_for_port(STANDIN_PORT))
        print("dispatch: the stand-in's ceiling ...", flush=True)
        top = ceiling(base, options)
        print("dispatch: the channel alone ...", flush=True)
        alone = standin_cpu(base, lambda: channel_alone(base, options))
        asyncio.run(standin_call(base, "POST", "/reset"))
        print("dispatch: contactdesk dispatch_once ...", flush=True)
        ours = standin_cpu(base, lambda: dispatch(url, base, options, expanded["campaign_id"]))
        print("dispatch: contactdesk dispatch_once with a channel that sends nothing ...", flush=True)
        bare = dispatch(url, base, options, expanded["campaign_id"], null=True)
    finally:
        if standin is not None:
            standin.terminate()
            standin.join()
        asyncio.run(drop_database(name))

    audience = json.dumps(audience_of(options), ensure_ascii=False)
    floor_rate = expanded["floor_rows"] / expanded["floor_seconds"]
    print(
        f"\n{server}; {options.customers:,} customers; audience {audience} → "
        f"{expanded['written']:,} targets ({expanded['pending']:,} sendable)"
    )
    print(f"\nexpansion into the outbox, Policy.expansion_batch = {options.expansion_batch:,}")
    print(f"{'target':44} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'vs floor':>9}")
    print(
        f"{'floor: one plain INSERT … SELECT':44} {expanded['floor_rows']:10,} "
        f"{expanded['floor_seconds']:8.2f} {floor_rate:9.0f} {1:8.2f}x"
    )
    print(
        f"{'contactdesk expand_due':44} {expanded['written']:10,} {expanded['expand_seconds']:8.2f} "
        f"{expanded['written'] / expanded['expand_seconds']:9.0f} "
        f"{expanded['expand_seconds'] / expanded['floor_seconds']:8.2f}x"
    )
    parts = expanded["parts"]
    for label, key in (
        ("  of which INSERT … SELECT batches (commit)", "expand_batch"),
        ("  of which add_timezones", "add_timezones"),
        ("  of which finish_expansion", "finish_expansion"),
        ("  of which re-reading the campaign", "get"),
    ):
        print(f"{label:44} {'':10} {parts.get(key, 0.0):8.2f}")
    same = "yes" if expanded["differ"] == 0 else f"NO: {expanded['differ']:,} rows differ"
    print(f"same rows as the floor: {same}")

    in_flight = options.workers * options.concurrency
    print(
        f"\ndispatch, rate limit lifted: {options.workers} process(es) × {options.concurrency} in flight "
        f"= {in_flight}; {options.send:,} messages measured after {options.warmup:,}; "
        f"Policy.dispatch_batch = {options.dispatch_batch}"
    )
    print(
        f"{'target':44} {'msgs':>8} {'msgs/s':>8} {'p50 ms':>14} {'p99 ms':>8} {'errors':>7} {'vs ceiling':>11}"
        f" {'CPU ms/msg':>11} {'stand-in':>9}"
    )
    rows = (
        ("stand-in ceiling: raw aiohttp POSTs", top, ""),
        ("channel alone: TelegramChannel", alone, ""),
        ("contactdesk dispatch_once", ours, f" ({ours['wire_p50_ms']:.2f})"),
        ("contactdesk dispatch_once, no-op channel", bare, ""),
    )
    for label, r, extra in rows:
        p50 = f"{r['p50_ms']:.2f}{extra}"
        print(
            f"{label:44} {int(r['messages']):8,} {r['rate']:8.0f} {p50:>14} {r['p99_ms']:8.2f} "
            f"{int(r['errors']):7d} {r['rate'] / top['rate']:10.2f}x"
            f" {cpu_cell(r):>11} {standin_cell(r):>9}"
        )
    received = ours["received"]
    print(
        f"contactdesk vs the channel alone: {ours['rate'] / alone['rate']:.2f}x; "
        f"the stand-in received {received['sent']:,} sendMessage for {received['chats']:,} chats "
        f"(duplicates: {received['sent'] - received['chats']}); "
        f"targets now {json.dumps(ours['statuses'], sort_keys=True)}"
    )
    print(
        "CPU ms/msg: the sending process's own CPU per message in the measured window (for "
        "dispatch, the share of one core it kept busy in brackets); stand-in: the Bot API "
        "stand-in's CPU per sendMessage it answered. PostgreSQL's is not counted."
    )
    if options.profile:
        print_profile(options.profile)
    result(
        customers=options.customers,
        expand_rows_per_s=expanded["written"] / expanded["expand_seconds"],
        expand_vs_floor=expanded["floor_seconds"] / expanded["expand_seconds"],
        ceiling_msgs_per_s=top["rate"],
        channel_msgs_per_s=alone["rate"],
        dispatch_msgs_per_s=ours["rate"],
        noop_msgs_per_s=bare["rate"],
        dispatch_vs_noop=ours["rate"] / bare["rate"],
        dispatch_vs_channel=ours["rate"] / alone["rate"],
        dispatch_vs_ceiling=ours["rate"] / top["rate"],
        dispatch_p99_ms=ours["p99_ms"],
        dispatch_cpu_ms=ours["cpu_ms"],
        noop_cpu_ms=bare["cpu_ms"],
        channel_cpu_ms=alone["cpu_ms"],
        duplicates=received["sent"] - received["chats"],
    )


if __name__ == "__main__":
    main()
