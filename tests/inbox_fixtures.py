"""What the chat inbox tests share: a bot app talking to the Bot API stand-in, customers
linked to Telegram chats, agents with skills, and reading an agent's socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sender import RateLimiter, TelegramChannel
from callcenter.app import create_app
from callcenter.keys import EVENTS, SESSIONS
from callcenter.settings import Settings
from callcenter.telegram_webhook import BOT
from handlers import outbox
from storage.models.base import utcnow
from storage.routing import presence
from storage.users import get_by_login
from tests.telegram_standin import BotApiStandIn, pointed_at
from tests.test_telegram_bot import EMILY, SECRET, WANG, Chat

Client = TestClient[web.Request, web.Application]

# What the agent's socket sends besides chats (availability, the queue panel, screen pops).
CHAT_TYPES = ("chat_offered", "chat_message", "chat_delivery", "chat_closed")


@asynccontextmanager
async def bot_app(settings: Settings, api: BotApiStandIn) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(pointed_at(settings, api, SECRET)))) as client:
        yield client


def emily(client: Client, api: BotApiStandIn) -> Chat:
    """An English-speaking regular customer (tests/routing_fixtures.py: 13800000003)."""
    return Chat(client, api, EMILY, "en", "Emily")


def wang(client: Client, api: BotApiStandIn) -> Chat:
    """A VIP customer who speaks Chinese (13800000001)."""
    return Chat(client, api, WANG, "zh-hans", "芳")


async def next_chat(socket: Any, kind: str | None = None, wait: float = 10) -> dict[str, Any]:
    """The next chat message on an agent's socket (of `kind` when given)."""
    async with asyncio.timeout(wait):
        while True:
            message = dict(await socket.receive_json())
            if message.get("type") in CHAT_TYPES and (kind is None or message["type"] == kind):
                return message


async def drain(client: Client) -> dict[str, int]:
    """One pass of the outbox sender, as the worker runs it."""
    app = client.server.app
    async with app[SESSIONS]() as session:
        return await outbox.drain_once(session, TelegramChannel(app[BOT], RateLimiter(1000, 0)), app[EVENTS])


async def set_state(sessions: async_sessionmaker[AsyncSession], login: str, state: str) -> None:
    async with sessions() as session:
        user = await get_by_login(session, login)
        assert user is not None
        await presence.set_agent_state(session, user.id, state, utcnow())
        await session.commit()


@asynccontextmanager
async def seeded_app(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[Client, BotApiStandIn]]:
    """The app with the routing fixtures' agents and customers, and the Bot API stand-in."""
    from tests.routing_fixtures import seed
    from tests.telegram_standin import bot_api

    await seed(sessions)
    async with bot_api() as api, bot_app(settings, api) as client:
        yield client, api
