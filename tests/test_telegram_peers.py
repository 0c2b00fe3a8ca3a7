"""Telegram's own material replayed through the real webhook: the sample updates of
Telegram's webhook guide and aiogram's dispatcher fixtures (tests/peers/telegram_updates.json
names where each was rebuilt from), group chats, and the chat's membership as Telegram
reports it (`my_chat_member`). A real app, a real Bot API stand-in, both databases."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sender import RateLimiter, TelegramChannel
from callcenter.app import create_app
from callcenter.keys import EVENTS
from callcenter.settings import Settings
from callcenter.telegram_webhook import BOT
from handlers import complaints, outbox
from handlers.complaints import ComplaintPolicy
from handlers.customers import NewCustomer, create_customer
from storage.models import Complaint
from storage.models.telegram import TelegramBlockedChat, TelegramRejectedUpdate
from tests.conftest import Staff
from tests.telegram_standin import BotApiStandIn, bot_api, pointed_at

SECRET = "peer-secret"
FIXTURES = json.loads((Path(__file__).parent / "peers" / "telegram_updates.json").read_text("utf-8"))
UPDATES: list[dict[str, Any]] = FIXTURES["updates"]

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with bot_api() as standin:
        yield standin


@pytest.fixture
async def bot_client(settings: Settings, api: BotApiStandIn) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(pointed_at(settings, api, SECRET)))) as client:
        yield client


async def deliver(client: Client, update: dict[str, Any], secret: str = SECRET) -> int:
    response = await client.post(
        "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
    )
    return response.status


async def kept(sessions: async_sessionmaker[AsyncSession]) -> list[TelegramRejectedUpdate]:
    async with sessions() as session:
        rows = await session.execute(select(TelegramRejectedUpdate).order_by(TelegramRejectedUpdate.id))
        return list(rows.scalars())


async def blocked(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list((await session.execute(select(TelegramBlockedChat.chat_id))).scalars())


def test_every_fixture_names_its_source_and_a_distinct_update_id() -> None:
    assert set(FIXTURES["sources"]) == {"telegram", "aiogram"}
    assert "core.telegram.org/bots/webhooks" in FIXTURES["sources"]["telegram"]
    assert "aiogram/aiogram" in FIXTURES["sources"]["aiogram"]
    assert all(u["source"] in FIXTURES["sources"] for u in UPDATES)
    ids = [u["update"]["update_id"] for u in UPDATES]
    assert len(ids) == len(set(ids))


async def test_the_peers_sample_updates_are_each_answered_200_and_none_is_lost(
    bot_client: Client, api: BotApiStandIn, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for fixture in UPDATES:
        before_calls, before_kept = len(api.calls), len(await kept(sessions))
        assert await deliver(bot_client, fixture["update"]) == 200, fixture["name"]
        calls = api.calls[before_calls:]
        now_kept = await kept(sessions)
        if fixture["expect"] == "kept":
            assert len(now_kept) == before_kept + 1, fixture["name"]
            assert json.loads(now_kept[-1].raw)["update_id"] == fixture["update"]["update_id"]
            assert calls == [], fixture["name"]
        else:
            assert len(now_kept) == before_kept, (fixture["name"], now_kept[-1].error)
            assert bool(calls) == (fixture["expect"] == "answered"), fixture["name"]
    # A repeat delivery of any of them is handled once: nothing sent, nothing kept again.
    before_calls, before_kept = len(api.calls), len(await kept(sessions))
    for fixture in UPDATES:
        assert await deliver(bot_client, fixture["update"]) == 200, fixture["name"]
    assert api.calls[before_calls:] == []
    assert len(await kept(sessions)) == before_kept


EMILY = 7101  # a customer's Telegram user id, and her private chat's id
GROUP = -1001234567890  # a supergroup she and the bot are in
EMILY_USER = {"id": EMILY, "is_bot": False, "first_name": "Emily", "language_code": "en"}
BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Desk", "username": "desk_bot"}
_ids = iter(range(900_000, 1_000_000))


def message(text: str, chat: dict[str, Any], sender: dict[str, Any] | None = EMILY_USER) -> dict[str, Any]:
    """An update as Telegram sends one: a command carries its bot_command entity."""
    body: dict[str, Any] = {"message_id": next(_ids), "date": int(time.time()), "chat": chat, "text": text}
    if sender is not None:
        body["from"] = sender
    if text.startswith("/"):
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": next(_ids), "message": body}


PRIVATE = {"id": EMILY, "first_name": "Emily", "type": "private"}
SUPERGROUP = {"id": GROUP, "title": "Broadband users", "type": "supergroup"}


def bot_membership(old: str, new: str) -> dict[str, Any]:
    """Telegram's my_chat_member for the bot in Emily's private chat."""

    def member(status: str) -> dict[str, Any]:
        extra = {"until_date": 0} if status == "kicked" else {}
        return {"user": BOT_USER, "status": status, **extra}

    return {
        "update_id": next(_ids),
        "my_chat_member": {
            "chat": PRIVATE,
            "from": EMILY_USER,
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        },
    }


@pytest.fixture
async def emily(bot_client: Client, api: BotApiStandIn, sessions: async_sessionmaker[AsyncSession]) -> int:
    """Emily, a customer whose private chat is linked, with an open complaint."""
    async with sessions() as session:
        record = await create_customer(
            session, None, NewCustomer(name="Emily Carter", phones=("13800000003",), language="en")
        )
    contact = {"phone_number": "+8613800000003", "first_name": "Emily", "user_id": EMILY}
    update = message("", PRIVATE)
    del update["message"]["text"]
    update["message"]["contact"] = contact
    assert await deliver(bot_client, update) == 200
    assert api.sent()[-1].text.startswith("We found your customer record, Emily Carter.")
    async with sessions() as session:
        await complaints.lodge(
            session,
            customer_id=record.id,
            category="billing",
            description="charged twice for May",
            channel="telegram",
            policy=ComplaintPolicy(),
        )
    api.calls.clear()
    return record.id


HINT_EN = "I can only help you in a private chat"


async def test_status_in_a_supergroup_answers_only_write_to_me_privately(
    bot_client: Client, api: BotApiStandIn, emily: int, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert await deliver(bot_client, message("/status", SUPERGROUP)) == 200
    assert [(c.method, int(c.params["chat_id"])) for c in api.calls] == [("sendMessage", GROUP)]
    assert api.calls[0].text.startswith(HINT_EN)
    async with sessions() as session:
        ticket = (await session.execute(select(Complaint.ticket))).scalar_one()
    assert ticket not in api.calls[0].text
    # In private the same command shows her ticket: the group got none of it.
    assert await deliver(bot_client, message("/status", PRIVATE)) == 200
    assert ticket in api.calls[-1].text


@pytest.mark.parametrize(
    ("chat", "sender", "text", "answered"),
    [
        ({"id": -4001, "title": "Family", "type": "group"}, EMILY_USER, "/start", True),
        (
            {"id": -4001, "title": "Family", "type": "group"},
            {**EMILY_USER, "language_code": "zh-hans"},
            "/complaint",
            True,
        ),
        (SUPERGROUP, EMILY_USER, "my phone is 13800000003, what do I owe?", True),
        ({"id": -100777, "title": "News", "type": "channel"}, None, "/status", True),
        ({"id": -100777, "title": "News", "type": "channel"}, None, "Outage tonight 02:00-04:00", False),
    ],
)
async def test_shared_chats_get_only_the_hint_and_nothing_is_read_or_linked(
    bot_client: Client,
    api: BotApiStandIn,
    emily: int,
    sessions: async_sessionmaker[AsyncSession],
    staff: Staff,
    chat: dict[str, Any],
    sender: dict[str, Any] | None,
    text: str,
    answered: bool,
) -> None:
    update = message(text, chat, sender)
    if chat["type"] == "channel":
        update = {"update_id": update["update_id"], "channel_post": update["message"]}
    assert await deliver(bot_client, update) == 200
    hints = [(c.method, int(c.params["chat_id"]), c.text) for c in api.calls]
    if not answered:
        assert hints == []
    else:
        # A channel post has no sender: the operator's default language (zh).
        hint = HINT_EN if sender and sender["language_code"] == "en" else "为保护您的个人信息"
        [(method, chat_id, said)] = hints
        assert (method, chat_id) == ("sendMessage", chat["id"])
        assert said.startswith(hint)
    response = await bot_client.get("/api/v1/audit", params={"customer_id": emily}, headers=staff.supervisor)
    assert [e["action"] for e in (await response.json())["entries"] if e["via"] == "telegram"] == []
    assert await kept(sessions) == []


async def test_a_button_pressed_in_a_group_gets_the_hint_in_a_popup(
    bot_client: Client, api: BotApiStandIn, emily: int
) -> None:
    query = {
        "id": "cq-group",
        "from": EMILY_USER,
        "chat_instance": "-55",
        "data": "sat:1:no",
        "message": message("(buttons)", SUPERGROUP, BOT_USER)["message"],
    }
    assert await deliver(bot_client, {"update_id": next(_ids), "callback_query": query}) == 200
    [call] = api.calls
    assert call.method == "answerCallbackQuery"
    assert str(call.params["text"]).startswith(HINT_EN)


async def test_blocking_the_bot_marks_the_chat_and_the_outbox_no_longer_sends_to_it(
    bot_client: Client,
    api: BotApiStandIn,
    emily: int,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    kicked = bot_membership("member", "kicked")
    assert await deliver(bot_client, kicked) == 200
    assert await blocked(sessions) == [str(EMILY)]
    assert api.calls == []
    # The complaint's acknowledgement is queued for her; the sender knows not to try.
    async with sessions() as session:
        outcome = await outbox.drain_once(
            session,
            TelegramChannel(bot_client.server.app[BOT], RateLimiter(1000, 0)),
            bot_client.server.app[EVENTS],
        )
    assert outcome == {"blocked": 1}
    assert api.sent() == []
    # She lets the bot back in (Restart): Telegram says member, and the mark goes.
    assert await deliver(bot_client, bot_membership("kicked", "member")) == 200
    assert await blocked(sessions) == []
    # A repeat of the old "kicked" delivery is handled once: it does not block her again.
    assert await deliver(bot_client, kicked) == 200
    assert await blocked(sessions) == []


async def test_start_after_a_block_unblocks(
    bot_client: Client, api: BotApiStandIn, emily: int, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert await deliver(bot_client, bot_membership("member", "kicked")) == 200
    assert await blocked(sessions) == [str(EMILY)]
    assert await deliver(bot_client, message("/start", PRIVATE)) == 200
    assert await blocked(sessions) == []
    assert api.sent()[-1].text.startswith("We found your customer record, Emily Carter.")


async def test_a_wrong_secret_is_401_so_that_telegram_keeps_the_update_until_the_secret_matches(
    bot_client: Client, api: BotApiStandIn, emily: int, sessions: async_sessionmaker[AsyncSession]
) -> None:
    update = message("/start", PRIVATE)
    # A stale secret (setWebhook was called with another): not 2xx, so Telegram retries it.
    assert await deliver(bot_client, update, secret="last-years-secret") == 401
    assert api.calls == []
    assert await kept(sessions) == []
    # The retry once the secrets agree is handled: nothing was lost.
    assert await deliver(bot_client, update) == 200
    assert api.sent()[-1].text.startswith("We found your customer record, Emily Carter.")


@pytest.mark.parametrize("secret", ["with space", "sécret", "x" * 257, "a/b"])
def test_a_secret_telegram_would_not_accept_in_setwebhook_is_refused_at_start(secret: str) -> None:
    with pytest.raises(ValidationError, match="telegram_webhook_secret"):
        Settings(telegram_webhook_secret=secret)


def test_a_secret_telegram_accepts_is_taken() -> None:
    assert Settings(telegram_webhook_secret="Az09_-" * 40).telegram_webhook_secret == "Az09_-" * 40
