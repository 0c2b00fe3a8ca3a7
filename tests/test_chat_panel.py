"""The chat as the agent's console shows it: the offer carries the panel (the transcript so
far, canned replies in the customer's language, where it may be transferred), reading it is
audited, and the console's own session changes a conversation only with its CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.settings import Settings
from handlers.inbox.desk import canned_replies
from storage.models import AuditEntry
from tests.conftest import Staff
from tests.console_client import sign_in
from tests.inbox_fixtures import Client, next_chat, seeded_app, wang
from tests.telegram_standin import BotApiStandIn


@pytest.fixture
async def desk(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], staff: Staff
) -> AsyncIterator[tuple[Client, BotApiStandIn]]:
    async with seeded_app(settings, sessions) as app:
        yield app


async def test_a_chat_offered_to_the_console_shows_the_transcript_chinese_canned_replies_and_transfer_targets(
    desk: tuple[Client, BotApiStandIn], staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    client, api = desk
    customer = wang(client, api)
    await customer.share("13800000001")
    await customer.say("/agent")
    assert await customer.say("宽带断了") == []
    # The agent's console opens after: the chat they hold comes with its panel.
    async with client.ws_connect("/agent/ws", headers=staff.agent) as socket:
        offer = await next_chat(socket, "chat_offered")
    panel = offer["panel"]
    assert 'class="msg in"' in panel
    assert "宽带断了" in panel
    for text in canned_replies()["zh"]:
        assert f'<option value="{text}">' in panel  # the customer speaks Chinese
    assert canned_replies()["en"][0] not in panel
    assert 'value="agent:agent2"' in panel
    assert 'value="agent:agent1"' not in panel
    assert 'value="queue:general"' in panel
    assert f'action="/api/v1/conversations/{offer["conversation_id"]}/close"' in panel
    async with sessions() as session:
        reads = (
            await session.execute(
                select(AuditEntry.actor, AuditEntry.via).where(
                    AuditEntry.action == "conversation.read",
                    AuditEntry.subject_id == str(offer["conversation_id"]),
                )
            )
        ).all()
    assert [tuple(r) for r in reads] == [("agent1", "ws")]


async def test_the_console_session_replies_only_with_its_csrf_token(
    desk: tuple[Client, BotApiStandIn], staff: Staff
) -> None:
    client, api = desk
    customer = wang(client, api)
    await customer.share("13800000001")
    await customer.say("/agent")
    listed = await client.get("/api/v1/conversations", headers=staff.agent)
    [conversation] = (await listed.json())["conversations"]
    assert (await sign_in(client, "agent1", "pw")).status in (302, 303)
    page = await (await client.get("/agent")).text()
    found = re.search(r'data-csrf="([^"]+)"', page)
    assert found is not None
    path = f"/api/v1/conversations/{conversation['id']}/messages"

    # Another site can make the browser send the cookie, not the page's token.
    forged = await client.post(path, json={"text": "hello"})
    assert forged.status == 403
    sent = await client.post(path, json={"text": "您好"}, headers={"X-CSRF-Token": found.group(1)})
    assert sent.status == 201
    assert (await sent.json())["delivery"] == "pending"
    transcript = await (
        await client.get(f"/api/v1/conversations/{conversation['id']}", headers=staff.agent)
    ).json()
    assert [m["text"] for m in transcript["messages"]] == ["您好"]
