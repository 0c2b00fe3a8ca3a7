"""On PostgreSQL a call ends in one statement (storage/routing/hot_path.py `HANG_UP`): the
contact row, the agent's row and the events the bus carries must be what the ORM's
`calls.ended` leaves, scene by scene. Two hangups that cross free the agent once, and at
the webhook the agent is free again and both consoles hear of it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.calls import ROUTING
from callcenter.settings import Settings
from handlers.routing import calls
from handlers.routing.calls import CallUpdate
from handlers.routing.compiled import compiled_rules, end_compiled
from handlers.routing.rules import Rule, Rules
from storage.db import create_engine, create_sessionmaker
from storage.events import CALLS, SUPERVISOR, Event
from storage.events_postgres import PostgresBus
from storage.routing.hot_path import CompiledRouting
from tests.conftest import Staff
from tests.console_client import CTI, CTI_TOKEN
from tests.routing_fixtures import Callers, seed

pytestmark = pytest.mark.postgres

Client = TestClient[web.Request, web.Application]
NOW = datetime(2026, 11, 27, 1, 0, 0, 123456, tzinfo=UTC)
SINCE = NOW - timedelta(minutes=30)
RULES = Rules((Rule(name="all", when={}, queue="general"),))
DONE = {"type": "end-of-scene"}


@pytest.fixture
def database_url(postgres_database: str) -> str:
    """PostgreSQL only: SQLite has the ORM's path alone."""
    return postgres_database


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class Call:
    call_id: str
    answered_ago: float | None = None  # seconds before the hangup
    ended: bool = False
    disposition: str | None = None
    agent: bool = True


@dataclass(frozen=True)
class Hangup:
    call_id: str
    cause: str | None = None
    duration: int | None = None


@dataclass(frozen=True)
class Scene:
    calls: tuple[Call, ...]
    hangups: tuple[Hangup, ...]
    # what the first call's row and the agent's row must end as: (duration, disposition)
    # and (state, active calls, since moved to the hangup)
    call_after: tuple[int | None, str | None]
    agent_after: tuple[str, int, bool]
    state: str = "busy"
    capacity: int = 1
    active: int = 1
    updates: tuple[bool, ...] = field(default=())  # each hangup's `known`, when not all True


SCENES = {
    "answered": Scene(
        (Call("a", answered_ago=95.7),), (Hangup("a", "normalClearing"),), (95, None), ("available", 0, True)
    ),
    "unanswered with a cause": Scene(
        (Call("u"),), (Hangup("u", "noAnswer"),), (None, "noAnswer"), ("available", 0, True)
    ),
    "an explicit duration": Scene(
        (Call("d", answered_ago=10),),
        (Hangup("d", "normalClearing", 42),),
        (42, None),
        ("available", 0, True),
    ),
    "ended before, hung up again": Scene(
        (Call("e", answered_ago=60, ended=True, disposition="resolved"),),
        (Hangup("e", "normalClearing", 7),),
        (None, "resolved"),
        ("available", 0, False),
        state="available",
        active=0,
    ),
    "hung up twice": Scene(
        (Call("t", answered_ago=30),),
        (Hangup("t"), Hangup("t", "again", 5)),
        (30, None),
        ("available", 0, True),
    ),
    "unknown call": Scene(
        (Call("k"),), (Hangup("nobody", "noAnswer"),), (None, None), ("busy", 1, False), updates=(False,)
    ),
    "agent paused": Scene(
        (Call("p", answered_ago=20),), (Hangup("p"),), (20, None), ("paused", 0, False), state="paused"
    ),
    "agent offline": Scene(
        (Call("o"),), (Hangup("o", "busy"),), (None, "busy"), ("offline", 0, False), state="offline"
    ),
    "capacity two, two calls": Scene(
        (Call("c1", answered_ago=50), Call("c2")),
        (Hangup("c1"), Hangup("c2", "cancel")),
        (50, None),
        ("available", 0, True),
        capacity=2,
        active=2,
    ),
    "capacity two, one of two calls": Scene(
        (Call("h1", answered_ago=5), Call("h2", answered_ago=3)),
        (Hangup("h1"),),
        (5, None),
        ("available", 1, True),
        capacity=2,
        active=2,
    ),
    "an agent counted free already": Scene(
        (Call("f", answered_ago=8),),
        (Hangup("f"),),
        (8, None),
        ("available", 0, True),
        state="available",
        active=0,
    ),
    "a disposition set already": Scene(
        (Call("w", disposition="sale"),), (Hangup("w", "noAnswer"),), (None, "sale"), ("available", 0, True)
    ),
    "an empty disposition": Scene(
        (Call("x", disposition=""),), (Hangup("x", "noAnswer"),), (None, "noAnswer"), ("available", 0, True)
    ),
    "an empty cause": Scene(
        (Call("y", disposition=""),), (Hangup("y", ""),), (None, None), ("available", 0, True)
    ),
    "answered, with a cause": Scene(
        (Call("z", answered_ago=0.4),), (Hangup("z", "normalClearing"),), (0, None), ("available", 0, True)
    ),
    "no agent": Scene(
        (Call("q", agent=False),), (Hangup("q", "abandoned"),), (None, "abandoned"), ("busy", 1, False)
    ),
}


async def stage(url: str, scene: Scene) -> None:
    connection = await asyncpg.connect(dsn(url))
    try:
        await connection.execute("TRUNCATE contacts, agent_states, users, customers RESTART IDENTITY CASCADE")
        await connection.execute(
            "INSERT INTO customers (name, tier, blacklisted, timezone, attributes, marketing_opt_out, "
            "created_at, updated_at) VALUES ('caller', 'vip', false, 'Asia/Shanghai', '{}', false, $1, $1)",
            SINCE,
        )
        agent = await connection.fetchval(
            "INSERT INTO users (login, name, password_hash, role, skills, languages, active, created_at) "
            "VALUES ('agent1', '', 'x', 'agent', '[]', '[\"zh\"]', true, $1) RETURNING id",
            SINCE,
        )
        await connection.execute(
            "INSERT INTO agent_states (user_id, state, since, capacity, active_contacts) "
            "VALUES ($1, $2, $3, $4, $5)",
            agent,
            scene.state,
            SINCE,
            scene.capacity,
            scene.active,
        )
        for call in scene.calls:
            answered = NOW - timedelta(seconds=call.answered_ago) if call.answered_ago is not None else None
            await connection.execute(
                "INSERT INTO contacts (channel, direction, external_id, customer_id, queue, priority, "
                "agent_id, action, reason, skills, fallback, extra, created_at, ringing_at, answered_at, "
                "ended_at, disposition) VALUES ('phone', 'in', $1, 1, 'vip', 100, $2, 'route', 'vip', '[]', "
                "false, '{}', $3, $3, $4, $5, $6)",
                call.call_id,
                agent if call.agent else None,
                SINCE,
                answered,
                NOW - timedelta(seconds=1) if call.ended else None,
                call.disposition,
            )
    finally:
        await connection.close()


async def rows(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    connection = await asyncpg.connect(dsn(url))
    try:
        contacts = await connection.fetch("SELECT * FROM contacts ORDER BY id")
        agents = await connection.fetch("SELECT * FROM agent_states ORDER BY user_id")
    finally:
        await connection.close()
    return [dict(r) for r in contacts], [dict(r) for r in agents]


async def until_done(events: AsyncIterator[Event]) -> list[Event]:
    seen = []
    async with asyncio.timeout(10):  # a hang guard: the marker follows everything announced
        async for event in events:
            if event == DONE:
                return seen
            seen.append(event)
    return seen


async def play(url: str, scene: Scene, *, one_statement: bool) -> tuple[Any, ...]:
    """Stage the scene, hang up as it says on one path; what each hangup answered, the rows
    and the events on both channels."""
    await stage(url, scene)
    bus = PostgresBus(dsn(url))
    engine = create_engine(url)
    compiled = CompiledRouting(dsn(url), compiled_rules(RULES), pool_size=2, statement_timeout=5)
    answers: list[CallUpdate | None] = []
    try:
        async with bus.subscribe(CALLS) as call_events, bus.subscribe(SUPERVISOR) as floor_events:
            for hangup in scene.hangups:
                if one_statement:
                    answers.append(
                        await end_compiled(
                            compiled,
                            bus,
                            hangup.call_id,
                            cause=hangup.cause,
                            duration=hangup.duration,
                            now=NOW,
                        )
                    )
                else:
                    async with create_sessionmaker(engine)() as session:
                        answers.append(
                            await calls.ended(
                                session,
                                bus,
                                hangup.call_id,
                                cause=hangup.cause,
                                duration=hangup.duration,
                                now=NOW,
                            )
                        )
            await bus.publish(CALLS, DONE)
            await bus.publish(SUPERVISOR, DONE)
            heard = (await until_done(call_events), await until_done(floor_events))
    finally:
        await compiled.close()
        await engine.dispose()
        await bus.close()
    return (answers, *await rows(url), *heard)


@pytest.mark.parametrize("name", SCENES)
async def test_one_statement_ends_a_call_as_the_orm_does(postgres_database: str, name: str) -> None:
    scene = SCENES[name]
    orm = await play(postgres_database, scene, one_statement=False)
    fast = await play(postgres_database, scene, one_statement=True)
    assert fast == orm
    answers, contacts, agents, call_events, floor_events = fast
    assert [a.known for a in answers] == list(scene.updates or (True,) * len(scene.hangups))
    first = contacts[0]
    assert (first["duration_seconds"], first["disposition"]) == scene.call_after
    [agent] = agents
    assert (agent["state"], agent["active_contacts"], agent["since"] == NOW) == scene.agent_after
    known = [h for h, a in zip(scene.hangups, answers, strict=True) if a.known]
    assert [(e["type"], e["call_id"]) for e in call_events] == [("call_ended", h.call_id) for h in known]
    expected_floor = []
    for answer in answers:
        if answer.known:
            expected_floor.append({"type": "queues_changed"})
            if answer.agent:
                expected_floor.append({"type": "agent_state", "agent": "agent1", "state": "available"})
    assert floor_events == expected_floor


async def test_hangups_that_cross_free_the_agent_once(postgres_database: str) -> None:
    """Eight deliveries of one hangup at once: one stamps the call and frees one unit of the
    agent's capacity; each is announced."""
    scene = SCENES["capacity two, one of two calls"]
    await stage(postgres_database, scene)
    compiled = CompiledRouting(
        dsn(postgres_database), compiled_rules(RULES), pool_size=8, statement_timeout=5
    )
    try:
        ended = await asyncio.gather(*(compiled.end("phone", "h1", NOW, None, None) for _ in range(8)))
    finally:
        await compiled.close()
    assert [e is not None and e.stamped for e in ended].count(True) == 1
    assert all(e is not None and e.agent == "agent1" for e in ended)
    contacts, [agent] = await rows(postgres_database)
    assert (agent["state"], agent["active_contacts"]) == ("available", 1)
    assert [c["ended_at"] for c in contacts] == [NOW, None]


# The webhook's side: the app on PostgreSQL, compiled routing on, as in production.


@pytest.fixture
async def console(settings: Settings) -> AsyncIterator[Client]:
    async with TestClient(
        TestServer(create_app(settings.model_copy(update={"cti_token": CTI_TOKEN})))
    ) as client:
        yield client


@pytest.fixture
async def callers(sessions: async_sessionmaker[AsyncSession], staff: Staff) -> Callers:
    return await seed(sessions)


async def cti(client: Client, event: str, call_id: str, **extra: Any) -> dict[str, Any]:
    response = await client.post(
        "/telephony/cti", json={"event": event, "call_id": call_id, **extra}, headers=CTI
    )
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def next_of(socket: Any, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(5):  # a hang guard
        while True:
            message = dict(await socket.receive_json())
            if message.get("type") == kind:
                return message


def availability(parts: dict[str, str], login: str) -> str:
    return str(
        re.findall(rf'data-agent="{login}".*?class="badge availability-(\w+)"', parts["wb-agents"], re.S)[0]
    )


async def test_a_hangup_at_the_webhook_frees_the_agent_and_reaches_both_consoles(
    console: Client, callers: Callers, staff: Staff
) -> None:
    assert console.app is not None
    assert console.app[ROUTING].compiled is not None  # the path under test
    async with (
        console.ws_connect("/agent/ws", headers=staff.agent) as agent_socket,
        console.ws_connect("/supervisor/ws", headers=staff.supervisor) as floor,
    ):
        shown = dict((await next_of(floor, "wallboard"))["parts"])
        offered = await cti(console, "newCall", "edge-1", **{"from": "13800000001"})
        assert offered["agent"] == "agent1"
        pop = await next_of(agent_socket, "screen_pop")
        assert pop["call_id"] == "edge-1"
        while availability(shown, "agent1") != "busy":
            shown.update((await next_of(floor, "wallboard"))["parts"])
        assert await cti(console, "hangup", "edge-1", cause="normalClearing") == {"ok": True}
        ended = await next_of(agent_socket, "call_ended")
        assert ended == {"type": "call_ended", "call_id": "edge-1"}
        while availability(shown, "agent1") != "available":
            shown.update((await next_of(floor, "wallboard"))["parts"])
    again = await cti(console, "newCall", "edge-2", **{"from": "13800000001"})
    assert again["agent"] == "agent1"
    missing = await console.post("/telephony/cti", json={"event": "hangup", "call_id": "never"}, headers=CTI)
    assert missing.status == 404
