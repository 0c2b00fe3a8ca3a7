"""Supervisors see the chat inbox beside the calls: per queue, the chats waiting (and the
longest wait) and those open; per agent, the chats held, in `GET /api/v1/reports/live` and
on the wallboard."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.settings import Settings
from tests.conftest import Staff
from tests.console_client import sign_in
from tests.inbox_fixtures import Client, emily, seeded_app, set_state
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
