"""A Telegram conversation as the customer lives it, where the database and Rasa sit behind:
the complaint flow's last step is one transaction, and free text reaches Rasa over one
HTTP client kept for the app's life."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.app import create_app
from callcenter.settings import Settings
from handlers.customers import NewCustomer, create_customer
from storage.models import Complaint
from storage.models.telegram import TelegramConversation
from tests.telegram_standin import BotApiStandIn, bot_api, pointed_at
from tests.test_telegram_bot import SECRET, chat

REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_complaints BEFORE INSERT ON complaints "
        "BEGIN SELECT RAISE(ABORT, 'complaints refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_complaints() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RAISE EXCEPTION 'complaints refused'; END $$",
        "CREATE TRIGGER refuse_complaints BEFORE INSERT ON complaints "
        "FOR EACH ROW EXECUTE FUNCTION refuse_complaints()",
    ],
}
ALLOW = {
    "sqlite": ["DROP TRIGGER refuse_complaints"],
    "postgresql": ["DROP TRIGGER refuse_complaints ON complaints", "DROP FUNCTION refuse_complaints()"],
}


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with bot_api() as standin:
        yield standin


@asynccontextmanager
async def bot_app(
    settings: Settings, api: BotApiStandIn, **extra: Any
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(create_app(pointed_at(settings, api, SECRET, **extra)))) as client:
        yield client


async def emily_at_confirm(
    client: TestClient[web.Request, web.Application],
    api: BotApiStandIn,
    sessions: async_sessionmaker[AsyncSession],
) -> Any:
    async with sessions() as session:
        await create_customer(session, None, NewCustomer(name="Emily Carter", phones=("13800000003",)))
    emily = chat(client, api, "emily")
    await emily.share("13800000003")
    await emily.say("/complaint")
    await emily.press("cat:network")
    await emily.say("No signal at home since Monday")
    [confirm] = await emily.press("skip")
    assert "No signal at home since Monday" in confirm
    return emily


async def run(engine: AsyncEngine, statements: list[str]) -> None:
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


async def test_a_complaint_that_cannot_be_saved_leaves_me_at_confirm_and_confirming_again_lodges_it_once(
    settings: Settings, api: BotApiStandIn, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    async with bot_app(settings, api) as client:
        emily = await emily_at_confirm(client, api, sessions)
        await run(engine, REFUSE[engine.dialect.name])
        try:
            before = len(api.sent())
            query = {
                "id": "cq-refused",
                "from": emily._user(),
                "chat_instance": "ci",
                "data": "confirm:yes",
                "message": emily._message(text="(buttons)"),
            }
            # Not a 200: Telegram delivers the update again later.
            assert await emily.post({"update_id": 990_001, "callback_query": query}) != 200
            assert [c.text for c in api.sent()[before:]] == []
        finally:
            await run(engine, ALLOW[engine.dialect.name])

        [lodged] = await emily.press("confirm:yes")
        assert lodged.startswith("Your complaint is lodged: ticket")
        assert await emily.press("confirm:yes") == []  # the flow is over: nothing lodged twice

    async with sessions() as session:
        [ticket] = (await session.execute(select(Complaint.ticket))).scalars().all()
        states = (await session.execute(select(TelegramConversation.state))).scalars().all()
        count = (await session.execute(select(func.count()).select_from(Complaint))).scalar_one()
    assert ticket in lodged
    assert count == 1
    assert set(states) == {None}


async def test_free_text_is_answered_by_rasa_over_one_kept_alive_client(
    settings: Settings, api: BotApiStandIn, sessions: async_sessionmaker[AsyncSession]
) -> None:
    peers: list[object] = []
    heard: list[dict[str, Any]] = []

    async def rest_channel(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        heard.append(await request.json())
        return web.json_response([{"recipient_id": "x", "text": f"Rasa heard: {heard[-1]['message']}"}])

    rasa = web.Application()
    rasa.router.add_post("/webhooks/rest/webhook", rest_channel)
    async with (
        TestServer(rasa) as server,
        bot_app(settings, api, rasa_url=str(server.make_url("/"))) as client,
    ):
        emily = chat(client, api, "emily")
        assert await emily.say("where is my bill?") == ["Rasa heard: where is my bill?"]
        assert await emily.say("and my refund?") == ["Rasa heard: and my refund?"]
    assert [h["sender"] for h in heard] == [str(emily.user_id)] * 2
    assert heard[0]["input_channel"] == "telegram"
    # One client for the app's life: the second message reuses the first one's connection.
    assert peers[0] == peers[1]
