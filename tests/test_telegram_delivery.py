"""What the one Telegram sender does when Telegram does not simply accept a message, and the
bookkeeping around it, seen from outside: the real app with its workers running, updates
through the webhook, a local Bot API stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sender import RateLimiter, TelegramChannel
from callcenter.app import create_app
from callcenter.keys import EVENTS
from callcenter.settings import Settings
from callcenter.telegram_webhook import BOT
from handlers import campaigns, complaints, outbox, telegram_updates
from handlers.campaigns import Policy
from handlers.complaints import ComplaintPolicy
from handlers.delivery import MAX_ATTEMPTS
from storage.models import CustomerIdentity, OutboxMessage
from storage.models.base import utcnow
from storage.models.telegram import TelegramUpdate
from tests.campaign_fixtures import populate
from tests.conftest import Staff
from tests.telegram_standin import BotApiStandIn, bot_api
from tests.test_campaign_workers import campaign as worker_campaign
from tests.test_campaign_workers import customers as worker_customers
from tests.test_campaign_workers import outcome as worker_outcome
from tests.test_campaigns_api import ALL_DAY, SECRET, Client
from tests.test_telegram_bot import Chat


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with bot_api() as standin:
        yield standin


def configured(settings: Settings, api: BotApiStandIn) -> Settings:
    return settings.model_copy(
        update={
            "bot_token": "123456:TEST",
            "telegram_api_base": api.base_url,
            "telegram_webhook_secret": SECRET,
            "telegram_chat_interval_seconds": 0.0,
            "campaign_idle_seconds": 0.05,
            "telegram_sender_idle_seconds": 0.05,
            "timer_interval_seconds": 3600,
            "campaign_frequency_cap_days": 0.0,  # the same customer, campaign after campaign
        }
    )


async def eventually(check: Callable[[], Any], what: str) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def run_campaign(desk: Client, staff: Staff, name: str) -> dict[str, int]:
    created = await desk.post(
        "/api/v1/campaigns",
        json={
            "name": name,
            "kind": "follow_up",
            "messages": {"zh": "您好 {{ name }}", "en": "Hi {{ name }}"},
            "audience": {"regions": ["london"]},
            "schedule": ALL_DAY,
        },
        headers=staff.supervisor,
    )
    assert created.status == 201
    campaign_id = (await created.json())["campaign"]["id"]
    body: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal body
        response = await desk.get(f"/api/v1/campaigns/{campaign_id}", headers=staff.supervisor)
        body = await response.json()
        return bool(body["campaign"]["state"] == "finished")

    await eventually(finished, f"campaign {name} finished")
    return dict(body["progress"]["counts"])


async def test_a_chat_that_blocked_the_bot_gets_no_campaign_until_it_sends_start_again(
    settings: Settings, api: BotApiStandIn, sessions: async_sessionmaker[AsyncSession], staff: Staff
) -> None:
    await populate(sessions, utcnow())  # the only Londoner writes from Telegram chat 9005
    async with TestClient(TestServer(create_app(configured(settings, api), run_workers=True))) as desk:
        api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        assert await run_campaign(desk, staff, "first") == {"blocked": 1}

        assert await run_campaign(desk, staff, "while blocked") == {"skipped": 1}
        assert len(api.sent()) == 1  # only the refused first attempt

        [greeting] = await Chat(desk, api, 9005, "en", "Lily").say("/start")
        assert greeting.startswith("We found your customer record, Customer london.")
        assert await run_campaign(desk, staff, "after /start") == {"sent": 1}
        last = api.sent()[-1]
        assert (str(last.params["chat_id"]), last.text) == ("9005", "Hi Customer london")


def lily_membership(update_id: int, old: str, new: str) -> dict[str, Any]:
    """Telegram's my_chat_member for the bot in the Londoner's private chat (9005)."""
    lily = {"id": 9005, "is_bot": False, "first_name": "Lily", "language_code": "en"}
    bot = {"id": 4242, "is_bot": True, "first_name": "Desk", "username": "desk_bot"}
    kicked = {"until_date": 0}
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": {"id": 9005, "first_name": "Lily", "type": "private"},
            "from": lily,
            "date": 1_764_000_000,
            "old_chat_member": {"user": bot, "status": old, **(kicked if old == "kicked" else {})},
            "new_chat_member": {"user": bot, "status": new, **(kicked if new == "kicked" else {})},
        },
    }


async def test_telegram_saying_the_bot_was_blocked_keeps_campaigns_away_until_it_is_let_back_in(
    settings: Settings, api: BotApiStandIn, sessions: async_sessionmaker[AsyncSession], staff: Staff
) -> None:
    await populate(sessions, utcnow())  # the only Londoner writes from Telegram chat 9005
    async with TestClient(TestServer(create_app(configured(settings, api), run_workers=True))) as desk:
        lily = Chat(desk, api, 9005, "en", "Lily")
        assert await lily.post(lily_membership(880_001, "member", "kicked")) == 200
        assert await run_campaign(desk, staff, "after the block") == {"skipped": 1}
        assert api.sent() == []  # known, not learnt from a 403

        assert await lily.post(lily_membership(880_002, "kicked", "member")) == 200
        assert await run_campaign(desk, staff, "let back in") == {"sent": 1}
        assert str(api.sent()[-1].params["chat_id"]) == "9005"


async def test_old_handled_updates_are_forgotten_after_the_retention_and_recent_ones_kept(
    settings: Settings, api: BotApiStandIn, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    async with sessions() as session:
        session.add_all(
            [
                TelegramUpdate(update_id=810_001, received_at=now - timedelta(days=3)),
                TelegramUpdate(update_id=810_002, received_at=now - timedelta(hours=1)),
            ]
        )
        await session.commit()
    retained = configured(settings, api).model_copy(update={"telegram_update_retention_days": 2.0})
    async with TestClient(TestServer(create_app(retained, run_workers=True))) as desk:

        async def forgotten() -> bool:
            async with sessions() as session:
                kept = (await session.execute(select(TelegramUpdate.update_id))).scalars().all()
            return sorted(kept) == [810_002]

        await eventually(forgotten, "the three-day-old update forgotten by the worker")
        emily = Chat(desk, api, 7001, "en", "Emily")
        assert await emily.say("/start", update_id=810_002) == []  # still known: a repeat
        [greeting] = await emily.say("/start", update_id=810_001)  # forgotten: handled as new
        assert greeting.startswith("Hello, Emily!")


async def test_a_notification_telegram_does_not_take_is_retried_with_backoff_then_failed(
    settings: Settings, api: BotApiStandIn, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await populate(sessions, utcnow())
    async with TestClient(TestServer(create_app(configured(settings, api)))) as desk:
        chat_customer = await customer_on_chat(sessions, "9002")
        async with sessions() as session:
            await complaints.lodge(
                session,
                customer_id=chat_customer,
                category="network",
                description="no signal",
                channel="telegram",
                policy=ComplaintPolicy(),
            )
        channel = TelegramChannel(desk.server.app[BOT], RateLimiter(1000, 0))
        now = [utcnow()]  # the sender's clock, moved to each retry's due time
        waits: list[timedelta] = []
        for _ in range(MAX_ATTEMPTS):
            api.fail_next("sendMessage", 502, "Bad Gateway")
            async with sessions() as session:
                outcome = await outbox.drain_once(
                    session, channel, desk.server.app[EVENTS], clock=lambda: now[0]
                )
                row = (await session.execute(select(OutboxMessage))).scalar_one()
            if row.status == "pending":
                assert outcome == {"pending": 1}
                waits.append(row.next_attempt_at - now[0])
                now[0] = row.next_attempt_at
        assert outcome == {"failed": 1}
        assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
        assert "Bad Gateway" in (row.last_error or "")
        assert waits == [timedelta(seconds=30 * 2**n) for n in range(MAX_ATTEMPTS - 1)]
        assert len(api.sent()) == MAX_ATTEMPTS


async def customer_on_chat(sessions: async_sessionmaker[AsyncSession], chat: str) -> int:
    async with sessions() as session:
        found = await session.execute(
            select(CustomerIdentity.customer_id).where(
                CustomerIdentity.kind == "telegram", CustomerIdentity.value == chat
            )
        )
        return int(found.scalar_one())


async def test_a_campaign_message_already_planned_for_a_chat_that_then_blocks_the_bot_is_not_sent(
    sessions: async_sessionmaker[AsyncSession], api: BotApiStandIn
) -> None:
    await worker_customers(sessions, 2)  # chats 100000 and 100001
    campaign_id = await worker_campaign(sessions)
    policy = Policy(dispatch_batch=20, concurrency=2, expansion_batch=50)
    await campaigns.expand_due(sessions, policy)
    async with sessions() as session:  # what the webhook does with Telegram's my_chat_member
        await telegram_updates.bot_membership(session, "100001", "kicked")
    bot = Bot("123456:TEST", session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    try:
        await campaigns.dispatch_once(sessions, TelegramChannel(bot, RateLimiter(0, 0)), policy)
    finally:
        await bot.session.close()
    assert await worker_outcome(sessions, campaign_id) == {"100000": "sent", "100001": "blocked"}
    assert [str(c.params["chat_id"]) for c in api.sent()] == ["100000"]
