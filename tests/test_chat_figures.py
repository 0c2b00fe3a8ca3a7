"""Supervisors see the chat inbox beside the calls: per queue, the chats waiting (and the
longest wait) and those open; per agent, the chats held, in `GET /api/v1/reports/live` and
on the wallboard; and over a period, `GET /api/v1/reports/conversations` by agent or queue."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.settings import Settings
from storage.models import InboxConversation, Survey
from storage.models.base import utcnow
from tests.conftest import Staff
from tests.console_client import sign_in
from tests.inbox_fixtures import Client, emily, seeded_app, set_state, wang
from tests.telegram_standin import BotApiStandIn


@pytest.fixture
async def floor(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], staff: Staff
) -> AsyncIterator[tuple[Client, BotApiStandIn]]:
    async with seeded_app(settings, sessions) as app:
        yield app


async def live(client: Client, staff: Staff) -> tuple[dict[str, Any], dict[str, Any]]:
    """The live report's queues and agents, by name."""
    response = await client.get("/api/v1/reports/live", headers=staff.supervisor)
    assert response.status == 200
    report = await response.json()
    return {q["queue"]: q for q in report["queues"]}, {a["login"]: a for a in report["agents"]}


def wallboard_row(page: str, attribute: str, name: str) -> str:
    found = re.search(rf'<tr data-{attribute}="{name}"[^>]*>(.*?)</tr>', page, re.DOTALL)
    assert found is not None, f"no row for {name}"
    return found.group(1)


async def test_a_waiting_chat_then_an_agent_holding_it_show_in_the_live_report_and_on_the_wallboard(
    floor: tuple[Client, BotApiStandIn], staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    client, api = floor
    await set_state(sessions, "agent1", "offline")  # the only English-speaking agent
    customer = emily(client, api)
    await customer.share("13800000003")
    [told] = await customer.say("/agent")
    assert told.startswith("All our agents are busy right now.")

    queues, agents = await live(client, staff)
    english = queues["english"]
    assert (english["chats_waiting"], english["chats_open"]) == (1, 0)
    assert english["longest_chat_wait_s"] >= 0
    assert english["waiting"] == 0  # no call waits: chats are counted apart
    assert agents["agent1"]["chats"] == 0
    assert (await sign_in(client, "supervisor", "pw-supervisor")).status in (302, 303)
    page = await (await client.get("/supervisor")).text()
    row = wallboard_row(page, "queue", "english")
    assert re.search(r'class="n chats-col chats-waiting waiting">1<', row)
    assert 'class="timer chat-wait"' in row

    # agent1 is back: the waiting chat is theirs.
    back = await client.post(
        "/agent/state", data={"state": "available"}, headers={**staff.agent, "Accept": "application/json"}
    )
    assert back.status == 200
    queues, agents = await live(client, staff)
    assert (queues["english"]["chats_waiting"], queues["english"]["chats_open"]) == (0, 1)
    assert queues["english"]["longest_chat_wait_s"] == 0
    assert (agents["agent1"]["chats"], agents["agent2"]["chats"]) == (1, 0)
    page = await (await client.get("/supervisor")).text()
    assert '<td class="n chats">1</td>' in wallboard_row(page, "agent", "agent1")
    assert '<td class="n chats-open">1</td>' in wallboard_row(page, "queue", "english")


async def test_the_conversations_report_gives_first_response_handle_time_and_csat_by_agent_and_queue(
    floor: tuple[Client, BotApiStandIn], staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    client, api = floor
    emily_chat = emily(client, api)
    await emily_chat.share("13800000003")
    await emily_chat.say("/agent")  # agent1 takes it
    [taken] = (await (await client.get("/api/v1/conversations", headers=staff.agent)).json())["conversations"]
    path = f"/api/v1/conversations/{taken['id']}"
    assert (await client.post(f"{path}/messages", json={"text": "Hello"}, headers=staff.agent)).status == 201
    assert (
        await client.post(f"{path}/close", json={"disposition": "done"}, headers=staff.agent)
    ).status == 200
    await set_state(sessions, "agent1", "offline")
    wang_chat = wang(client, api)
    await wang_chat.share("13800000001")
    await wang_chat.say("/agent")  # nobody serves VIPs now: it waits
    # The moments as a hand count fixes them: opened at T, taken 10 s later, first reply at
    # 40 s, closed at 340 s; the customer answered the CSAT question with 4.
    t = (utcnow() - timedelta(days=6)).replace(microsecond=0)
    async with sessions() as session:
        await session.execute(
            update(InboxConversation)
            .where(InboxConversation.id == taken["id"])
            .values(
                created_at=t,
                assigned_at=t + timedelta(seconds=10),
                first_reply_at=t + timedelta(seconds=40),
                closed_at=t + timedelta(seconds=340),
            )
        )
        survey_id = await session.scalar(
            select(InboxConversation.survey_id).where(InboxConversation.id == taken["id"])
        )
        assert survey_id is not None
        await session.execute(update(Survey).where(Survey.id == survey_id).values(score=4, answered_at=t))
        await session.execute(
            update(InboxConversation)
            .where(InboxConversation.id != taken["id"])
            .values(created_at=t + timedelta(minutes=5))
        )
        await session.commit()

    window = {"from": (t - timedelta(days=1)).isoformat(), "to": (t + timedelta(days=1)).isoformat()}
    by_agent = await client.get("/api/v1/reports/conversations", params=window, headers=staff.supervisor)
    assert by_agent.status == 200
    rows = {r["group"]: r for r in (await by_agent.json())["rows"]}
    assert rows["agent1"] == {
        "group": "agent1",
        "conversations": 1,
        "answered": 1,
        "resolved": 1,
        "avg_first_response_s": 40.0,
        "avg_handle_s": 330.0,
        "csat_answers": 1,
        "csat_average": 4.0,
    }
    assert (rows[""]["conversations"], rows[""]["answered"], rows[""]["avg_handle_s"]) == (1, 0, None)
    by_queue = await client.get(
        "/api/v1/reports/conversations", params={**window, "group_by": "queue"}, headers=staff.supervisor
    )
    queues = {r["group"]: r["conversations"] for r in (await by_queue.json())["rows"]}
    assert queues == {"english": 1, "vip": 1}
    assert (
        await client.get(
            "/api/v1/reports/conversations", params={"group_by": "day"}, headers=staff.supervisor
        )
    ).status == 400
    assert (await client.get("/api/v1/reports/conversations", headers=staff.agent)).status == 403

    # The satisfaction page shows the last 30 days of chats, by agent and by queue.
    assert (await sign_in(client, "supervisor", "pw-supervisor")).status in (302, 303)
    page = await (await client.get("/supervisor/satisfaction")).text()
    by_agent_row = re.search(r'data-group="agent".*?<tr data-row="agent1">(.*?)</tr>', page, re.DOTALL)
    assert by_agent_row is not None
    assert re.findall(r"<td[^>]*>(.*?)</td>", by_agent_row.group(1), re.DOTALL) == [
        "agent1",
        "1",
        "1",
        "0:40",
        "5:30",
        "4.00 <small>(1)</small>",
    ]
    assert '<tr data-row="vip">' in page
