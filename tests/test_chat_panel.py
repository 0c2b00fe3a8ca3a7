"""The chat as the agent's console shows it: the offer carries the panel (the transcript so
far, canned replies in the customer's language, where it may be transferred), reading it is
audited, and the console's own session changes a conversation only with its CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.settings import Settings
from handlers.inbox.desk import canned_replies
from storage.models import AuditEntry, User
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


async def wang_with_agent1(desk: tuple[Client, BotApiStandIn]) -> Client:
    """Wang (Chinese, VIP) asked for a person, agent1 took it, and Wang wrote once."""
    client, api = desk
    customer = wang(client, api)
    await customer.share("13800000001")
    await customer.say("/agent")
    assert await customer.say("宽带断了") == []
    return client


async def transcript_reads(
    sessions: async_sessionmaker[AsyncSession], conversation_id: int
) -> list[tuple[str, str]]:
    """Who read the conversation's transcript, and through which door (the audit trail)."""
    async with sessions() as session:
        reads = await session.execute(
            select(AuditEntry.actor, AuditEntry.via).where(
                AuditEntry.action == "conversation.read", AuditEntry.subject_id == str(conversation_id)
            )
        )
    return [(actor, via) for actor, via in reads]


async def test_a_chat_offered_to_the_console_shows_the_transcript_chinese_canned_replies_and_transfer_targets(
    desk: tuple[Client, BotApiStandIn], staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    client = await wang_with_agent1(desk)
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
    assert await transcript_reads(sessions, offer["conversation_id"]) == [("agent1", "ws")]


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


async def test_the_customer_profile_lists_their_chats_and_opens_a_transcript_whose_reading_is_audited(
    desk: tuple[Client, BotApiStandIn], staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:  # people read the agent's name, not their login
        await session.execute(update(User).where(User.login == "agent1").values(name="李娜"))
        await session.commit()
    client = await wang_with_agent1(desk)
    [conversation] = (await (await client.get("/api/v1/conversations", headers=staff.agent)).json())[
        "conversations"
    ]
    path = f"/api/v1/conversations/{conversation['id']}"
    assert (
        await client.post(f"{path}/messages", json={"text": "马上为您处理"}, headers=staff.agent)
    ).status == 201
    closed = await client.post(f"{path}/close", json={"disposition": "line reset"}, headers=staff.agent)
    assert closed.status == 200

    assert (await sign_in(client, "supervisor", "pw-supervisor")).status in (302, 303)
    profile = await (await client.get(f"/customers/{conversation['customer_id']}")).text()
    row = re.search(rf'<tr data-conversation="{conversation["id"]}">(.*?)</tr>', profile, re.DOTALL)
    assert row is not None
    assert "line reset" in row.group(1)
    assert "李娜" in row.group(1)
    link = f"/customers/{conversation['customer_id']}/conversations/{conversation['id']}"
    assert f'href="{link}"' in row.group(1)

    page = await client.get(link)
    assert page.status == 200
    text = await page.text()
    assert text.index("宽带断了") < text.index("马上为您处理")  # oldest first
    reply = re.search(r'<li class="msg out"[^>]*>\s*<small class="who">([^<]*)</small>', text)
    assert reply is not None
    assert reply.group(1).startswith("李娜 · ")
    assert ("supervisor", "console") in await transcript_reads(sessions, conversation["id"])
    # Under another customer's profile there is no such chat, and nothing was read.
    reads = len(await transcript_reads(sessions, conversation["id"]))
    assert (
        await client.get(f"/customers/{conversation['customer_id'] + 1}/conversations/{conversation['id']}")
    ).status == 404
    assert len(await transcript_reads(sessions, conversation["id"])) == reads
