"""Screen-pop latency and throughput: from the telephony platform's CTI `newCall` POST to the
pop (the caller's card, as JSON) arriving on the offered agent's WebSocket.

    python bench/screen_pop.py                          # 200 agents, 1,000 calls per pass
    python bench/screen_pop.py --agents 500 --calls 3000 --concurrency 32

Loads customers and agents (available, capacity 1, signed in with API tokens) into a
PostgreSQL database of its own. Every server is its own forked process (`web.run_app`); the
client runs in this process: it holds one WebSocket per agent and posts `newCall` from one
worker (the latency pass), then from `--concurrency` workers (the throughput pass). A call is
hung up as soon as its pop has arrived, which frees the agent for the next call. Targets,
measured in the same run:

  floor          a bare aiohttp app whose CTI handler parses the JSON, picks the next agent
                 and pushes a fixed screen_pop message on that agent's socket
  one instance   contactdesk: route the call, claim the longest-idle agent, publish
                 call_offered (PostgreSQL NOTIFY), render the card, send it on the socket
  two instances  the same, but `newCall` goes to instance A while every agent's socket is
                 held by instance B: each pop crosses instances through LISTEN/NOTIFY

pops/s is the calls whose pop arrived, per second of the pass. A call counts as an error
(and not in the latencies or pops/s) when `newCall` fails or names no agent, the pop does not
arrive within 10 s, the pop arrives on another agent's socket, or the hangup fails.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    copy_phones,
    create_database,
    drop_database,
    machine,
    percentile,
    phone,
    result,
    wait_for_port,
)

CTI_TOKEN = "bench-cti"
CTI = {"Authorization": f"Bearer {CTI_TOKEN}"}
POP_TIMEOUT = 10.0
FLOOR_PORT, ONE_PORT, TWO_A_PORT, TWO_B_PORT = 18611, 18612, 18613, 18614


def agent_token(i: int) -> str:
    return f"bench-agent-token-{i}"


async def seed(url: str, agents: int, customers: int) -> str:
    """Customers with a phone each, two queues, the agents; returns PostgreSQL's version."""
    import asyncpg

    from handlers.accounts import token_digest
    from storage.migrate import upgrade

    await upgrade(url)
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    now = datetime.now(UTC)
    await connection.copy_records_to_table(
        "customers",
        records=(
            (n + 1, f"caller {n}", "regular", False, "zh", "{}", False, now, now) for n in range(customers)
        ),
        columns=[
            "id",
            "name",
            "tier",
            "blacklisted",
            "language",
            "attributes",
            "marketing_opt_out",
            "created_at",
            "updated_at",
        ],
    )
    await copy_phones(connection, customers, now)
    for queue in ("general", "complaints"):
        await connection.execute(
            "INSERT INTO queues (name, description, days, timezone) "
            "VALUES ($1, '', '[0,1,2,3,4,5,6]', 'Asia/Shanghai')",
            queue,
        )
    for i in range(agents):
        user_id = await connection.fetchval(
            "INSERT INTO users (login, name, password_hash, role, skills, languages, active, created_at) "
            "VALUES ($1, '', 'x', 'agent', '[\"general\", \"complaints\"]', '[\"zh\"]', true, now()) "
            "RETURNING id",
            f"agent{i}",
        )
        # available with room for one call: newCall offers the call, and that offer is the pop
        await connection.execute(
            "INSERT INTO agent_states (user_id, state, since, capacity, active_contacts) "
            "VALUES ($1, 'available', now(), 1, 0)",
            user_id,
        )
        await connection.execute(
            "INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES ($1, $2, now())",
            user_id,
            token_digest(agent_token(i)),
        )
    await connection.execute("ANALYZE")
    version = str(await connection.fetchval("SHOW server_version"))
    await connection.close()
    return version


CARDS = 200  # customers with a history, for the card pass


async def seed_histories(url: str, customers: int) -> None:
    """A history for the last CARDS customers (two products, two open complaints, five
    contacts, three answered surveys) and an ended call from each, offered to agent0: the card
    pass's calls. The passes through the servers call from the first customers, with none."""
    import asyncpg

    from handlers.offers import shipped_catalogue

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    agent = await connection.fetchval("SELECT id FROM users WHERE login = 'agent0'")
    products = [
        await connection.fetchval(
            "INSERT INTO products (code, name, category, monthly_price) VALUES ($1, $1, '', 0) RETURNING id",
            offer.code,
        )
        for offer in shipped_catalogue()
    ]
    for customer in range(customers - CARDS + 1, customers + 1):
        for k, product in enumerate(products[customer % 3 : customer % 3 + 2]):
            await connection.execute(
                "INSERT INTO holdings (customer_id, product_id, since, monthly_spend) "
                "VALUES ($1, $2, current_date - $3::int, 49.90)",
                customer,
                product,
                100 + k,
            )
        for k in range(2):
            await connection.execute(
                "INSERT INTO complaints (ticket, customer_id, category, severity, state, description, "
                "channel, created_at, updated_at, reopen_count, verified, attachments) "
                "VALUES ($1, $2, 'billing', 'standard', 'received', 'bench', 'phone', now(), now(), 0, true, '[]')",
                f"B{customer}-{k}",
                customer,
            )
        for k in range(6):
            await connection.execute(
                "INSERT INTO contacts (channel, direction, external_id, customer_id, from_number, to_number, "
                "created_at, ended_at, extra, fallback, action, reason, priority, agent_id, skills) "
                "VALUES ('phone', 'in', $1, $2, '', '', now() - make_interval(hours => $3), now(), '{}', "
                "false, 'route', 'bench', 0, $4, '[]')",
                f"card-{customer}" if k == 0 else f"card-{customer}-{k}",
                customer,
                k,
                agent,
            )
        for k in range(3):
            await connection.execute(
                "INSERT INTO surveys (customer_id, kind, trigger, channel, created_at, expires_at, "
                "answered_at, score) VALUES ($1, 'csat', 'call', 'telegram', now(), now(), now(), $2)",
                customer,
                k + 3,
            )
    await connection.execute("ANALYZE")
    await connection.close()


async def card_pass(url: str, customers: int, rounds: int) -> dict[str, list[float]]:
    """The card alone, one at a time, in this process: the ORM path, the one statement, and a
    floor of one indexed fetch of a customer row on a bare asyncpg connection."""
    import asyncpg

    from handlers import screen_pop
    from storage.db import create_engine, create_sessionmaker
    from storage.users import get_by_login

    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    async with sessions() as session:
        agent = await get_by_login(session, "agent0")
    assert agent is not None
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    times: dict[str, list[float]] = {"floor": [], "orm": [], "one": []}
    one_statement = screen_pop._one_statement
    try:
        for n in range(rounds):
            customer = customers - n % CARDS
            call_id = f"card-{customer}"
            started = time.perf_counter()
            await connection.fetchrow("SELECT * FROM customers WHERE id = $1", customer)
            times["floor"].append(time.perf_counter() - started)
            for path in ("orm", "one"):
                screen_pop._one_statement = one_statement if path == "one" else (lambda _session: False)
                started = time.perf_counter()
                async with sessions() as session:
                    pop = await screen_pop.for_call(session, agent, call_id, via="bench")
                times[path].append(time.perf_counter() - started)
                assert pop.customer is not None
                assert len(pop.open_complaints) == 2
    finally:
        screen_pop._one_statement = one_statement
        await connection.close()
        await engine.dispose()
    return times


def serve_floor(port: int) -> None:
    from aiohttp import web

    sockets: dict[str, web.WebSocketResponse] = {}
    calls: dict[str, str] = {}
    turn = itertools.count()

    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        login = request.query["agent"]
        sockets[login] = ws
        try:
            async for _ in ws:
                pass
        finally:
            sockets.pop(login, None)
        return ws

    async def cti(request: web.Request) -> web.Response:
        body = await request.json()
        call_id = str(body["call_id"])
        if body["event"] == "newCall":
            logins = list(sockets)
            login = logins[next(turn) % len(logins)]
            calls[call_id] = login
            await sockets[login].send_json(
                {"type": "screen_pop", "call_id": call_id, "customer": None, "html": "<article></article>"}
            )
            return web.json_response({"action": "route", "queue": "general", "priority": 20, "agent": login})
        login = calls.pop(call_id)
        await sockets[login].send_json({"type": "call_ended", "call_id": call_id})
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/agent/ws", socket)
    app.router.add_post("/telephony/cti", cti)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def serve_app(port: int, url: str) -> None:
    import logging

    from aiohttp import web

    from callcenter.app import create_app
    from callcenter.settings import Settings

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(database_url=url, cti_token=CTI_TOKEN)
    web.run_app(create_app(settings), host="127.0.0.1", port=port, access_log=None, print=None)


@dataclass
class Pass:
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: int = 0


class Console:
    """The agents' side: one socket per agent, noting when each call's first pop arrives."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[tuple[float, str]]] = {}

    async def read(self, login: str, socket: Any) -> None:
        from aiohttp import WSMsgType

        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            arrived = time.perf_counter()
            data = json.loads(message.data)
            if data.get("type") != "screen_pop":
                continue
            waiter = self.waiting.get(str(data.get("call_id")))
            if waiter is not None and not waiter.done():
                waiter.set_result((arrived, login))


async def run_pass(
    http: Any, cti_url: str, console: Console, label: str, calls: int, concurrency: int, phones: Any
) -> Pass:
    result = Pass()
    counter = iter(range(calls))
    loop = asyncio.get_running_loop()

    async def one_call(n: int) -> None:
        call_id = f"{label}-{n}"
        waiter: asyncio.Future[tuple[float, str]] = loop.create_future()
        console.waiting[call_id] = waiter
        body = {"event": "newCall", "call_id": call_id, "from": phone(next(phones)), "to": "+862000000000"}
        started = time.perf_counter()
        ok = True
        try:
            async with http.post(cti_url, headers=CTI, json=body) as response:
                answer = await response.json() if response.status == 200 else {}
            offered = answer.get("agent")
            if not offered:
                ok = False
            else:
                try:
                    arrived, holder = await asyncio.wait_for(waiter, POP_TIMEOUT)
                except TimeoutError:
                    ok = False
                else:
                    if holder == offered:
                        result.latencies.append(arrived - started)
                    else:
                        ok = False
        finally:
            console.waiting.pop(call_id, None)
        async with http.post(cti_url, headers=CTI, json={"event": "hangup", "call_id": call_id}) as response:
            await response.read()
            ok = ok and response.status == 200
        if not ok:
            result.errors += 1

    async def worker() -> None:
        for n in counter:
            await one_call(n)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - started
    return result


async def client(
    name: str, post_port: int, socket_port: int, floor: bool, options: argparse.Namespace, phones: Any
) -> list[tuple[int, Pass]]:
    """Connect every agent's socket, warm up, then the latency pass and the throughput pass."""
    from aiohttp import ClientSession, TCPConnector

    console = Console()
    cti_url = f"http://127.0.0.1:{post_port}/telephony/cti"
    results: list[tuple[int, Pass]] = []
    async with ClientSession(connector=TCPConnector(limit=0)) as http:
        sockets = []
        for i in range(options.agents):
            if floor:
                socket = await http.ws_connect(f"http://127.0.0.1:{socket_port}/agent/ws?agent=agent{i}")
            else:
                socket = await http.ws_connect(
                    f"http://127.0.0.1:{socket_port}/agent/ws",
                    headers={"Authorization": f"Bearer {agent_token(i)}"},
                )
            sockets.append(socket)
        readers = [asyncio.create_task(console.read(f"agent{i}", s)) for i, s in enumerate(sockets)]
        await asyncio.sleep(1.0)  # let every socket's subscription (LISTEN) settle
        try:
            await run_pass(
                http, cti_url, console, f"{name}-warm", options.warmup, options.concurrency, phones
            )
            for in_flight in (1, options.concurrency):
                measured = await run_pass(
                    http, cti_url, console, f"{name}-{in_flight}", options.calls, in_flight, phones
                )
                results.append((in_flight, measured))
        finally:
            for socket in sockets:
                await socket.close()
            await asyncio.gather(*readers, return_exceptions=True)
    return results


def measure(
    name: str,
    servers: list[tuple[Any, tuple[Any, ...], int]],
    post_port: int,
    socket_port: int,
    options: argparse.Namespace,
    phones: Any,
) -> list[tuple[int, Pass]]:
    processes = [multiprocessing.Process(target=t, args=a, daemon=True) for t, a, _ in servers]
    for process in processes:
        process.start()
    try:
        for _, _, port in servers:
            asyncio.run(wait_for_port(port))
        return asyncio.run(
            client(name, post_port, socket_port, name == "floor", options, phones),
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=200, help="agents signed in, one socket each")
    parser.add_argument("--calls", type=int, default=1000, help="calls per pass")
    parser.add_argument("--concurrency", type=int, default=16, help="calls in flight in the throughput pass")
    parser.add_argument("--warmup", type=int, default=200, help="calls before each target's passes")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--card-rounds", type=int, default=300, help="cards read in the card pass, per path")
    options = parser.parse_args()
    if options.customers < 3 * (options.warmup + 2 * options.calls) + CARDS:
        parser.error("--customers too few: each call comes from a customer with no history")
    if options.concurrency > options.agents:
        parser.error("--concurrency must not exceed --agents (each call in flight holds one agent)")

    multiprocessing.set_start_method("fork")
    name, dsn = asyncio.run(create_database())
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    # every call comes from the next customer, so each is a first contact routed by the same rule
    phones = (n % options.customers for n in itertools.count())
    try:
        print(f"machine: {machine()}")
        print(
            f"loading {options.customers:,} customers and {options.agents} agents into {name} ...", flush=True
        )
        version = asyncio.run(seed(url, options.agents, options.customers))
        asyncio.run(seed_histories(url, options.customers))
        cards = asyncio.run(card_pass(url, options.customers, options.card_rounds))
        results = {
            "floor: POST → fixed push on a socket": measure(
                "floor", [(serve_floor, (FLOOR_PORT,), FLOOR_PORT)], FLOOR_PORT, FLOOR_PORT, options, phones
            ),
            "contactdesk, one instance": measure(
                "one", [(serve_app, (ONE_PORT, url), ONE_PORT)], ONE_PORT, ONE_PORT, options, phones
            ),
            "contactdesk, across two instances": measure(
                "two",
                [(serve_app, (TWO_A_PORT, url), TWO_A_PORT), (serve_app, (TWO_B_PORT, url), TWO_B_PORT)],
                TWO_A_PORT,
                TWO_B_PORT,
                options,
                phones,
            ),
        }
    finally:
        asyncio.run(drop_database(name))

    floor = dict(results["floor: POST → fixed push on a socket"])
    print(
        f"\nPostgreSQL {version}; {options.agents} agents connected; {options.calls:,} calls per pass "
        f"(after {options.warmup} warm-up calls); latency = newCall POST sent → screen_pop received"
    )
    print(
        f"{'target':36} {'in flight':>9} {'pops/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
        f" {'p50 vs floor':>13} {'pops/s vs floor':>16}"
    )
    values: dict[str, float] = {}
    for (label, passes), short in zip(results.items(), ("floor", "one", "two"), strict=True):
        for in_flight, measured in passes:
            rate = len(measured.latencies) / measured.elapsed if measured.elapsed else 0.0
            p50 = percentile(measured.latencies, 0.50)
            p99 = percentile(measured.latencies, 0.99)
            base = floor[in_flight]
            base_rate = len(base.latencies) / base.elapsed if base.elapsed else float("nan")
            print(
                f"{label:36} {in_flight:9d} {rate:8.0f} {p50 * 1000:8.2f} {p99 * 1000:8.2f}"
                f" {measured.errors:7d} {p50 / percentile(base.latencies, 0.50):12.1f}x"
                f" {rate / base_rate:15.2f}x"
            )
            values[f"{short}_{in_flight}_pops_per_s"] = rate
            values[f"{short}_{in_flight}_p99_ms"] = p99 * 1000
            values[f"{short}_{in_flight}_rate_vs_floor"] = rate / base_rate
    print(
        f"\nthe card alone ({options.card_rounds} cards one at a time, a caller with two products, two open "
        "complaints, five past contacts, three answered surveys; in the bench's process)"
    )
    print(f"{'path':44} {'p50 ms':>8} {'p99 ms':>8} {'p50 vs floor':>13}")
    floor_p50 = percentile(cards["floor"], 0.50)
    for path, label in (
        ("floor", "floor: one indexed fetch (asyncpg)"),
        ("orm", "ORM path (SQLite's)"),
        ("one", "one statement (PostgreSQL's)"),
    ):
        p50, p99 = percentile(cards[path], 0.50), percentile(cards[path], 0.99)
        print(f"{label:44} {p50 * 1000:8.2f} {p99 * 1000:8.2f} {p50 / floor_p50:12.1f}x")
        values[f"card_{path}_p50_ms"] = p50 * 1000
        values[f"card_{path}_p99_ms"] = p99 * 1000
    values["card_one_vs_orm_p50"] = percentile(cards["one"], 0.50) / percentile(cards["orm"], 0.50)
    result(**values)


if __name__ == "__main__":
    main()
