"""Chat latency: from a Telegram customer's message (the bot's webhook) to the message
arriving on the agent's WebSocket, with agents connected and conversations in flight.

    python bench/chat.py                              # 200 agents, 50 conversations, 1,000 messages
    python bench/chat.py --agents 500 --conversations 100 --messages 3000

Loads customers (each linked to a Telegram chat), agents (signed in with API tokens) and one
open conversation per customer, held by agents round robin, into a PostgreSQL database of
its own. Every server is its own forked process; the client runs in this process: it holds
one WebSocket per agent and posts Telegram updates to the webhook: from one customer at a
time; then from every customer, each writing one message a second (`--pace`: 50 customers
chatting, the load the target is set for); then from every customer back to back (each
writes again as soon as their last message reached the agent: the most the machine takes,
where latency is queueing). Targets, measured in the same run:

  floor          a bare aiohttp app whose webhook parses the update, finds the chat's agent
                 and pushes a fixed chat_message on that agent's socket
  two instances  contactdesk: the webhook on instance A stores the message (deduplicated by
                 update and message id) and publishes chat_message (PostgreSQL NOTIFY); the
                 agents' sockets are on instance B, which reads the message and sends it

A message counts as an error (not in the latencies) when the webhook does not answer 200,
or the message does not reach the conversation's agent within 10 s.
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

from bench._common import copy_phones, create_database, drop_database, machine, percentile, wait_for_port

SECRET = "bench-telegram-secret"
TIMEOUT = 10.0
FIRST_CHAT = 7_000_000
FLOOR_PORT, TWO_A_PORT, TWO_B_PORT, BOT_API_PORT = 18621, 18622, 18623, 18624


def agent_token(i: int) -> str:
    return f"bench-chat-agent-token-{i}"


def agent_of(n: int, agents: int) -> int:
    """The agent holding customer n's conversation: spread over the agents."""
    return (n * 7) % agents


async def seed(url: str, agents: int, conversations: int) -> str:
    import asyncpg

    from handlers.accounts import token_digest
    from storage.migrate import upgrade

    await upgrade(url)
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    now = datetime.now(UTC)
    await connection.copy_records_to_table(
        "customers",
        records=(
            (n + 1, f"chatter {n}", "regular", False, "zh", "{}", False, now, now)
            for n in range(conversations)
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
    await copy_phones(connection, conversations, now)
    await connection.executemany(
        "INSERT INTO customer_identities (customer_id, kind, value, created_at) VALUES ($1, 'telegram', $2, $3)",
        [(n + 1, str(FIRST_CHAT + n), now) for n in range(conversations)],
    )
    await connection.execute(
        "INSERT INTO queues (name, description, days, timezone) "
        "VALUES ('general', '', '[0,1,2,3,4,5,6]', 'Asia/Shanghai')"
    )
    ids = []
    for i in range(agents):
        user_id = await connection.fetchval(
            "INSERT INTO users (login, name, password_hash, role, skills, languages, active, created_at) "
            "VALUES ($1, '', 'x', 'agent', '[\"general\"]', '[\"zh\"]', true, now()) RETURNING id",
            f"agent{i}",
        )
        ids.append(user_id)
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
    await connection.executemany(
        "INSERT INTO inbox_conversations (customer_id, channel, address, state, queue, priority, reason, "
        "skills, agent_language, agent_id, created_at, assigned_at) "
        "VALUES ($1, 'telegram', $2, 'open', 'general', 0, 'default', '[]', NULL, $3, $4, $4)",
        [(n + 1, str(FIRST_CHAT + n), ids[agent_of(n, agents)], now) for n in range(conversations)],
    )
    await connection.execute("ANALYZE")
    version = str(await connection.fetchval("SHOW server_version"))
    await connection.close()
    return version


def update(update_id: int, chat: int, text: str) -> dict[str, Any]:
    person = {"id": chat, "is_bot": False, "first_name": "Bench", "language_code": "zh-hans"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": person,
            "text": text,
        },
    }


def serve_floor(port: int, agents: int) -> None:
    from aiohttp import web

    sockets: dict[str, web.WebSocketResponse] = {}

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

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        message = body["message"]
        n = int(message["chat"]["id"]) - FIRST_CHAT
        await sockets[f"agent{agent_of(n, agents)}"].send_json(
            {
                "type": "chat_message",
                "conversation_id": n + 1,
                "message_id": message["message_id"],
                "from": "customer",
                "text": message["text"],
                "photo": False,
                "at": datetime.now(UTC).isoformat(),
                "delivery": None,
            }
        )
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/agent/ws", socket)
    app.router.add_post("/telegram/webhook", webhook)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def serve_bot_api(port: int) -> None:
    """Telegram's Bot API, for the bot's own calls (none expected while a person holds the chat)."""
    from aiohttp import web

    async def method(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", method)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def serve_app(port: int, url: str) -> None:
    import logging

    from aiohttp import web

    from callcenter.app import create_app
    from callcenter.settings import Settings

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(
        database_url=url,
        bot_token="123456:BENCH",  # noqa: S106 - a throwaway bot, talking to serve_bot_api
        telegram_api_base=f"http://127.0.0.1:{BOT_API_PORT}",
        telegram_webhook_secret=SECRET,
    )
    web.run_app(create_app(settings), host="127.0.0.1", port=port, access_log=None, print=None)


@dataclass
class Pass:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


class Console:
    """The agents' side: one socket per agent, noting when each customer's message arrives."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[tuple[float, str]]] = {}

    async def read(self, login: str, socket: Any) -> None:
        from aiohttp import WSMsgType

        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            arrived = time.perf_counter()
            data = json.loads(message.data)
            if data.get("type") != "chat_message" or data.get("from") != "customer":
                continue
            waiter = self.waiting.get(str(data.get("text")))
            if waiter is not None and not waiter.done():
                waiter.set_result((arrived, login))


async def run_pass(
    http: Any,
    url: str,
    console: Console,
    label: str,
    messages: int,
    customers: list[int],
    agents: int,
    ids: Any,
    pace: float = 0.0,
) -> Pass:
    """Each customer writes, waits for the message to reach the agent, then writes again: at
    once (pace 0: as fast as the server allows), or at its next slot, one message every `pace`
    seconds per customer, the customers' slots spread over the period."""
    result = Pass()
    counter = iter(range(messages))
    loop = asyncio.get_running_loop()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    begun = time.perf_counter()

    async def customer(n: int) -> None:
        slot = begun + pace * n / max(len(customers), 1)
        for k in counter:
            if pace:
                await asyncio.sleep(max(0.0, slot - time.perf_counter()))
                slot += pace
            text = f"{label} {n} {k}"
            waiter: asyncio.Future[tuple[float, str]] = loop.create_future()
            console.waiting[text] = waiter
            started = time.perf_counter()
            try:
                async with http.post(url, headers=headers, json=update(next(ids), FIRST_CHAT + n, text)) as r:
                    await r.read()
                    ok = r.status == 200
                if ok:
                    try:
                        arrived, holder = await asyncio.wait_for(waiter, TIMEOUT)
                    except TimeoutError:
                        ok = False
                    else:
                        ok = holder == f"agent{agent_of(n, agents)}"
                        if ok:
                            result.latencies.append(arrived - started)
            finally:
                console.waiting.pop(text, None)
            if not ok:
                result.errors += 1

    await asyncio.gather(*(customer(n) for n in customers))
    return result


def passes(options: argparse.Namespace) -> list[tuple[str, int, float]]:
    """(name, customers writing, seconds between one customer's messages; 0: at once)."""
    return [
        ("1 at a time", 1, 0.0),
        (f"{options.conversations}, 1 msg/{options.pace:g}s each", options.conversations, options.pace),
        (f"{options.conversations} back to back", options.conversations, 0.0),
    ]


async def client(
    name: str, post_port: int, socket_port: int, floor: bool, options: argparse.Namespace
) -> list[tuple[str, Pass]]:
    from aiohttp import ClientSession, TCPConnector

    console = Console()
    url = f"http://127.0.0.1:{post_port}/telegram/webhook"
    ids = itertools.count(1 + {"floor": 0, "two": 10_000_000}[name])
    results: list[tuple[str, Pass]] = []
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
        await asyncio.sleep(1.0)  # every socket's replay (the chats held) sent, LISTEN in place
        everyone = list(range(options.conversations))
        try:
            await run_pass(http, url, console, f"{name}-warm", options.warmup, everyone, options.agents, ids)
            for kind, in_flight, pace in passes(options):
                measured = await run_pass(
                    http,
                    url,
                    console,
                    f"{name}-{kind}",
                    options.messages,
                    everyone[:in_flight],
                    options.agents,
                    ids,
                    pace,
                )
                results.append((kind, measured))
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
) -> list[tuple[str, Pass]]:
    processes = [multiprocessing.Process(target=t, args=a, daemon=True) for t, a, _ in servers]
    for process in processes:
        process.start()
    try:
        for _, _, port in servers:
            asyncio.run(wait_for_port(port))
        return asyncio.run(client(name, post_port, socket_port, name == "floor", options))
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
    parser.add_argument("--conversations", type=int, default=50, help="customers chatting at once")
    parser.add_argument("--messages", type=int, default=1000, help="messages per pass")
    parser.add_argument("--warmup", type=int, default=200, help="messages before each target's passes")
    parser.add_argument(
        "--pace", type=float, default=1.0, help="seconds between one customer's messages in the paced pass"
    )
    options = parser.parse_args()
    if options.conversations > options.agents * 3:
        parser.error("--conversations must not exceed 3 per agent (the default max_chats)")

    multiprocessing.set_start_method("fork")
    name, dsn = asyncio.run(create_database())
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    try:
        print(f"machine: {machine()}")
        print(
            f"loading {options.conversations} conversations and {options.agents} agents into {name} ...",
            flush=True,
        )
        version = asyncio.run(seed(url, options.agents, options.conversations))
        floor = measure(
            "floor",
            [(serve_floor, (FLOOR_PORT, options.agents), FLOOR_PORT)],
            FLOOR_PORT,
            FLOOR_PORT,
            options,
        )
        two = measure(
            "two",
            [
                (serve_bot_api, (BOT_API_PORT,), BOT_API_PORT),
                (serve_app, (TWO_A_PORT, url), TWO_A_PORT),
                (serve_app, (TWO_B_PORT, url), TWO_B_PORT),
            ],
            TWO_A_PORT,
            TWO_B_PORT,
            options,
        )
    finally:
        asyncio.run(drop_database(name))

    print(
        f"\nPostgreSQL {version}; {options.agents} agents connected; {options.conversations} conversations; "
        f"{options.messages:,} messages per pass (after {options.warmup} warm-up); "
        "latency = webhook POST sent → chat_message received on the agent's socket"
    )
    print(
        f"{'target':34} {'customers writing':>28} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'p99 vs floor':>13}"
    )
    base = dict(floor)
    for label, measured_passes in (
        ("floor: webhook → fixed push", floor),
        ("contactdesk, across two instances", two),
    ):
        for kind, measured in measured_passes:
            p50, p99 = percentile(measured.latencies, 0.5), percentile(measured.latencies, 0.99)
            print(
                f"{label:34} {kind:>28} {p50 * 1000:8.2f} {p99 * 1000:8.2f} {measured.errors:7d}"
                f" {p99 / percentile(base[kind].latencies, 0.99):12.1f}x"
            )
    paced_kind, saturated_kind = passes(options)[1][0], passes(options)[2][0]

    def ms(found: Pass, share: float) -> str:
        return f"{percentile(found.latencies, share) * 1000:.2f}"

    paced, saturated = dict(two)[paced_kind], dict(two)[saturated_kind]
    met = "yes" if percentile(paced.latencies, 0.99) < 0.1 else "no"
    print(
        f"RESULT agents={options.agents} conversations={options.conversations} messages={options.messages}"
        f" pace_s={options.pace:g} p50_ms={ms(paced, 0.5)} p99_ms={ms(paced, 0.99)}"
        f" floor_p50_ms={ms(base[paced_kind], 0.5)} floor_p99_ms={ms(base[paced_kind], 0.99)}"
        f" p99_ratio={percentile(paced.latencies, 0.99) / percentile(base[paced_kind].latencies, 0.99):.1f}"
        f" back_to_back_p50_ms={ms(saturated, 0.5)} back_to_back_p99_ms={ms(saturated, 0.99)}"
        f" errors={paced.errors + saturated.errors} target_p99_ms=100 met={met}"
    )


if __name__ == "__main__":
    main()
