"""Screen-pop latency: from posting the CTI `answer` event to the pop arriving on the agent's
socket, with many agents connected; one instance, and two instances sharing PostgreSQL.

    python bench/screen_pop.py                  # 200 agents, 300 calls per setting
    python bench/screen_pop.py --agents 500 --calls 1000

The floor, measured in the same run: a bare aiohttp app whose POST handler pushes a fixed
JSON message to a connected WebSocket. Client and servers share one process and event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from bench._common import create_database, drop_database, machine, percentile

CTI = {"Authorization": "Bearer bench"}


async def seed(dsn: str, agents: int, customers: int) -> list[str]:
    import asyncpg

    from storage.migrate import upgrade

    await upgrade(dsn)
    connection = await asyncpg.connect(dsn)
    now = datetime.now(UTC)
    await connection.copy_records_to_table(
        "customers",
        records=[
            (n + 1, f"caller {n}", "regular", False, "zh", "{}", False, now, now) for n in range(customers)
        ],
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
    await connection.copy_records_to_table(
        "customer_identities",
        records=[(n + 1, n + 1, "phone", f"+86139{n:08d}", now) for n in range(customers)],
        columns=["id", "customer_id", "kind", "value", "created_at"],
    )
    await connection.execute("SELECT setval('customers_id_seq', $1)", customers + 1)
    await connection.execute("SELECT setval('customer_identities_id_seq', $1)", customers + 1)
    await connection.execute(
        "INSERT INTO queues (name, description, days, timezone) "
        "VALUES ('general', '', '[0,1,2,3,4,5,6]', 'Asia/Shanghai')"
    )
    tokens = []
    for i in range(agents):
        user_id = await connection.fetchval(
            "INSERT INTO users (login, name, password_hash, role, skills, languages, active, created_at) "
            "VALUES ($1, '', 'x', 'agent', '[\"general\"]', '[\"zh\"]', true, now()) RETURNING id",
            f"agent{i}",
        )
        # offline: newCall offers nobody, so the only pop is the one `answer` triggers
        await connection.execute(
            "INSERT INTO agent_states (user_id, state, since, capacity, active_contacts) "
            "VALUES ($1, 'offline', now(), 1, 0)",
            user_id,
        )
        token = f"bench-token-{i}"
        await connection.execute(
            "INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES ($1, $2, now())",
            user_id,
            hashlib.sha256(token.encode()).hexdigest(),
        )
        tokens.append(token)
    await connection.close()
    return tokens


async def measure(post_to: TestServer, sockets: list[Any], calls: int, customers: int) -> list[float]:
    latencies: list[float] = []
    async with ClientSession() as http:
        for n in range(calls):
            agent = n % len(sockets)
            call_id = f"pop-{time.monotonic_ns()}-{n}"
            await http.post(
                post_to.make_url("/telephony/cti"),
                headers=CTI,
                json={"event": "newCall", "call_id": call_id, "from": f"+86139{n % customers:08d}"},
            )
            started = time.perf_counter()
            await http.post(
                post_to.make_url("/telephony/cti"),
                headers=CTI,
                json={"event": "answer", "call_id": call_id, "agent": f"agent{agent}"},
            )
            while True:
                message = await asyncio.wait_for(sockets[agent].receive_json(), 10)
                if message.get("call_id") == call_id:
                    break
            latencies.append(time.perf_counter() - started)
            await http.post(
                post_to.make_url("/telephony/cti"), headers=CTI, json={"event": "hangup", "call_id": call_id}
            )
            await asyncio.wait_for(sockets[agent].receive_json(), 10)  # its call_ended
    return latencies


async def floor(calls: int) -> list[float]:
    app = web.Application()
    sockets: list[web.WebSocketResponse] = []

    async def ws(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        sockets.append(socket)
        async for _ in socket:
            pass
        return socket

    async def poke(_request: web.Request) -> web.Response:
        await sockets[0].send_json({"type": "screen_pop", "html": "<article></article>"})
        return web.json_response({"ok": True})

    app.router.add_get("/ws", ws)
    app.router.add_post("/poke", poke)
    server = TestServer(app)
    await server.start_server()
    latencies = []
    async with ClientSession() as http, http.ws_connect(server.make_url("/ws")) as socket:
        await asyncio.sleep(0.05)
        for _ in range(calls):
            started = time.perf_counter()
            await http.post(server.make_url("/poke"))
            await socket.receive_json()
            latencies.append(time.perf_counter() - started)
    await server.close()
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--customers", type=int, default=10_000)
    options = parser.parse_args()

    from callcenter.app import create_app
    from callcenter.settings import Settings

    name, dsn = await create_database()
    results: dict[str, list[float]] = {"floor: POST → fixed push on a socket": await floor(options.calls)}
    try:
        print(f"machine: {machine()}")
        tokens = await seed(dsn, options.agents, options.customers)
        url = dsn.replace("postgresql://", "postgresql+asyncpg://")
        settings = Settings(database_url=url, cti_token="bench")  # noqa: S106 - a throwaway token for the bench database
        first, second = TestServer(create_app(settings)), TestServer(create_app(settings))
        await first.start_server()
        await second.start_server()
        async with ClientSession() as http:
            for label, post_to, held_by in (
                ("one instance", first, first),
                ("across two instances", first, second),
            ):
                sockets = [
                    await http.ws_connect(
                        held_by.make_url("/agent/ws"), headers={"Authorization": f"Bearer {t}"}
                    )
                    for t in tokens
                ]
                await asyncio.sleep(0.5)
                results[f"contactdesk pop, {label}"] = await measure(
                    post_to, sockets, options.calls, options.customers
                )
                for socket in sockets:
                    await socket.close()
        await first.close()
        await second.close()
    finally:
        await drop_database(name)
    base = percentile(results["floor: POST → fixed push on a socket"], 0.5)
    print(f"\n{options.agents} agents connected, {options.calls} calls each, PostgreSQL")
    print(f"{'path':42} {'p50 ms':>8} {'p99 ms':>8} {'p50 vs floor':>13}")
    for label, values in results.items():
        p50 = percentile(values, 0.5)
        print(f"{label:42} {p50 * 1000:8.2f} {percentile(values, 0.99) * 1000:8.2f} {p50 / base:12.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
