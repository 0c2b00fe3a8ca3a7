"""The Telegram bot as a customer uses it: real aiogram HTTP client, a local Bot API
stand-in, updates in Telegram's JSON through the webhook of the real app."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
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
from storage.models import Complaint, Customer, CustomerIdentity, OutboxMessage
from storage.models.telegram import TelegramBlockedChat, TelegramRejectedUpdate
from tests.conftest import Staff
from tests.telegram_standin import BotApiStandIn, bot_api

POLICY = ComplaintPolicy()  # the default rules, passed as every adapter passes its own

SECRET = "webhook-secret"
EMILY, WANG = 7001, 7002
_updates = itertools.count(1)


@dataclass
class Chat:
    client: TestClient[web.Request, web.Application]
    api: BotApiStandIn
    user_id: int
    language: str
    first_name: str

    def _user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language,
        }

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(_updates),
            "date": int(time.time()),
            "chat": {"id": self.user_id, "type": "private"},
            "from": self._user(),
            **content,
        }

    async def post(self, update: dict[str, Any], secret: str = SECRET) -> int:
        response = await self.client.post(
            "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
        )
        return response.status

    async def say(self, text: str, update_id: int | None = None) -> list[str]:
        before = len(self.api.sent())
        entities = (
            [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            if text.startswith("/")
            else []
        )
        update = {
            "update_id": update_id or next(_updates),
            "message": self._message(text=text, entities=entities),
        }
        assert await self.post(update) == 200
        return [c.text for c in self.api.sent()[before:]]

    async def share(self, phone: str, owner: int | None = None) -> list[str]:
        before = len(self.api.sent())
        contact = {"phone_number": phone, "first_name": self.first_name, "user_id": owner or self.user_id}
        assert (
            await self.post({"update_id": next(_updates), "message": self._message(contact=contact)}) == 200
        )
        return [c.text for c in self.api.sent()[before:]]

    async def photo(self, file_id: str) -> list[str]:
        before = len(self.api.sent())
        sizes = [
            {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
            {"file_id": file_id, "file_unique_id": "b", "width": 1280, "height": 960},
        ]
        assert await self.post({"update_id": next(_updates), "message": self._message(photo=sizes)}) == 200
        return [c.text for c in self.api.sent()[before:]]

    async def press(self, data: str) -> list[str]:
        before = len(self.api.sent())
        query = {
            "id": f"cq{next(_updates)}",
            "from": self._user(),
            "chat_instance": "ci",
            "data": data,
            "message": self._message(text="(buttons)"),
        }
        assert await self.post({"update_id": next(_updates), "callback_query": query}) == 200
        return [c.text for c in self.api.sent()[before:]]


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with bot_api() as standin:
        yield standin


@pytest.fixture
async def bot_client(
    settings: Settings, api: BotApiStandIn
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    configured = settings.model_copy(
        update={
            "bot_token": "123456:TEST",
            "telegram_api_base": api.base_url,
            "telegram_webhook_secret": SECRET,
            "telegram_chat_interval_seconds": 0.0,
        }
    )
    async with TestClient(TestServer(create_app(configured))) as client:
        yield client


@pytest.fixture
async def customers(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        emily = await create_customer(
            session, None, NewCustomer(name="Emily Carter", phones=("13800000003",), language="en")
        )
        wang = await create_customer(
            session, None, NewCustomer(name="王芳", phones=("13800000001",), language="zh")
        )
        bad = await create_customer(session, None, NewCustomer(name="孙骗", phones=("13800000666",)))
        await session.execute(
            Customer.__table__.update().where(Customer.id == bad.id).values(blacklisted=True)
        )
        await session.commit()
    return {"emily": emily.id, "wang": wang.id, "bad": bad.id}


def chat(client: TestClient[web.Request, web.Application], api: BotApiStandIn, who: str) -> Chat:
    if who == "emily":
        return Chat(client, api, EMILY, "en", "Emily")
    return Chat(client, api, WANG, "zh-hans", "芳")


async def test_start_greets_in_the_users_language_and_asks_for_the_phone(
    bot_client: Any, api: BotApiStandIn, customers: dict[str, int]
) -> None:
    [english] = await chat(bot_client, api, "emily").say("/start")
    assert english.startswith("Hello, Emily! Welcome to customer service.")
    assert api.sent()[-1].markup["keyboard"][0][0]["request_contact"] is True
    [chinese] = await chat(bot_client, api, "wang").say("/start")
    assert chinese.startswith("您好，芳！欢迎使用客户服务机器人")


async def test_sharing_my_own_phone_links_me_to_my_record(
    bot_client: Any, api: BotApiStandIn, customers: dict[str, int], sessions: async_sessionmaker[AsyncSession]
) -> None:
    [reply] = await chat(bot_client, api, "emily").share("+86 138 0000 0003")
    assert reply.startswith("We found your customer record, Emily Carter.")
    async with sessions() as session:
        owner = (
            await session.execute(
                select(CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind == "telegram", CustomerIdentity.value == str(EMILY)
                )
            )
        ).scalar_one()
    assert owner == customers["emily"]


async def test_someone_elses_contact_is_refused(
    bot_client: Any, api: BotApiStandIn, customers: dict[str, int]
) -> None:
    [reply] = await chat(bot_client, api, "emily").share("+8613800000001", owner=999)
    assert "please share your own phone number" in reply


async def test_an_unknown_number_becomes_a_prospect(
    bot_client: Any, api: BotApiStandIn, customers: dict[str, int], sessions: async_sessionmaker[AsyncSession]
) -> None:
    [reply] = await chat(bot_client, api, "wang").share("13911112222")
    assert reply.startswith("感谢您！我们已为您创建客户资料")
    async with sessions() as session:
        prospect = (
            await session.execute(
                select(Customer).join(CustomerIdentity).where(CustomerIdentity.value == "+8613911112222")
            )
        ).scalar_one()
    assert prospect.attributes == {"prospect": True}


async def test_a_blacklisted_customer_is_refused_politely(
    bot_client: Any, api: BotApiStandIn, customers: dict[str, int]
) -> None:
    [reply] = await chat(bot_client, api, "wang").share("13800000666")
    assert reply.startswith("很抱歉，我们目前无法通过此渠道为您提供服务")
    [again] = await chat(bot_client, api, "wang").say("/complaint")
    assert again.startswith("很抱歉")


async def test_a_repeated_update_is_handled_once(
    bot_client: Any, api: BotApiStandIn, customers: dict[str, int]
) -> None:
    emily = chat(bot_client, api, "emily")
    first = await emily.say("/start", update_id=555_000)
    second = await emily.say("/start", update_id=555_000)
    assert len(first) == 1
    assert second == []


async def test_a_wrong_secret_is_refused(bot_client: Any, api: BotApiStandIn) -> None:
    emily = chat(bot_client, api, "emily")
    status = await emily.post({"update_id": 1, "message": emily._message(text="/start")}, secret="guess")
    assert status == 401
    assert api.sent() == []


@pytest.mark.parametrize("who", ["emily", "wang"])
async def test_lodging_a_complaint_with_a_photo_and_seeing_its_status(
    bot_client: Any,
    api: BotApiStandIn,
    customers: dict[str, int],
    sessions: async_sessionmaker[AsyncSession],
    who: str,
) -> None:
    user = chat(bot_client, api, who)
    await user.share("13800000003" if who == "emily" else "13800000001")
    [categories] = await user.say("/complaint")
    assert categories in ("What is your complaint about?", "请选择投诉类别：")
    assert [b["callback_data"] for b in api.sent()[-1].markup["inline_keyboard"][0]] == [
        "cat:network",
        "cat:billing",
    ]
    [describe] = await user.press("cat:network")
    assert describe in ("Please describe the problem:", "请描述您遇到的问题：")
    await user.say("No signal at home since Monday")
    [confirm] = await user.photo("PHOTO-FILE-ID")
    assert "No signal at home since Monday" in confirm
    [lodged] = await user.press("confirm:yes")
    async with sessions() as session:
        complaint = (await session.execute(select(Complaint))).scalar_one()
    assert complaint.ticket in lodged
    assert (complaint.category, complaint.channel) == ("network", "telegram")
    assert complaint.attachments == [{"ref": "telegram:PHOTO-FILE-ID"}]
    assert complaint.customer_id == customers[who]
    [status] = await user.say("/status")
    assert complaint.ticket in status
    assert ("received" if who == "emily" else "已受理") in status


async def test_told_when_resolved_and_answering_not_satisfied_reopens_it(
    bot_client: Any,
    api: BotApiStandIn,
    customers: dict[str, int],
    sessions: async_sessionmaker[AsyncSession],
    staff: Staff,
) -> None:
    emily = chat(bot_client, api, "emily")
    await emily.share("13800000003")
    async with sessions() as session:
        lodged = await complaints.lodge(
            session,
            customer_id=customers["emily"],
            category="billing",
            description="charged twice",
            channel="telegram",
            policy=POLICY,
        )
    for to, extra in (("acknowledged", {}), ("investigating", {}), ("resolved", {"resolution": "refunded"})):
        response = await bot_client.post(
            f"/api/v1/complaints/{lodged.id}/transition", json={"to": to, **extra}, headers=staff.agent
        )
        assert response.status == 200
    app = bot_client.server.app
    async with sessions() as session:
        outcome = await outbox.drain_once(
            session, TelegramChannel(app[BOT], RateLimiter(1000, 0)), app[EVENTS]
        )
    assert outcome == {"sent": 4}
    resolved = api.sent()[-1]
    assert resolved.text.startswith(f"Ticket {lodged.ticket} is resolved: refunded")
    buttons = resolved.markup["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == [f"sat:{lodged.id}:yes", f"sat:{lodged.id}:no"]
    [reply] = await emily.press(f"sat:{lodged.id}:no")
    assert reply.startswith("We are sorry; we have reopened the ticket")
    async with sessions() as session:
        state = (await session.execute(select(Complaint.state))).scalar_one()
    assert state == "reopened"


async def test_the_sender_waits_out_a_429_and_records_a_blocked_chat(
    bot_client: Any,
    api: BotApiStandIn,
    customers: dict[str, int],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await chat(bot_client, api, "emily").share("13800000003")
    await chat(bot_client, api, "wang").share("13800000001")
    async with sessions() as session:
        await complaints.lodge(
            session,
            customer_id=customers["emily"],
            category="network",
            description="a",
            channel="telegram",
            policy=POLICY,
        )
        await complaints.lodge(
            session,
            customer_id=customers["wang"],
            category="network",
            description="b",
            channel="telegram",
            policy=POLICY,
        )
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    app = bot_client.server.app
    started = time.monotonic()
    async with sessions() as session:
        outcome = await outbox.drain_once(
            session, TelegramChannel(app[BOT], RateLimiter(1000, 0)), app[EVENTS]
        )
    assert time.monotonic() - started >= 2.0
    assert outcome == {"blocked": 1, "sent": 1}
    async with sessions() as session:
        statuses = sorted((await session.execute(select(OutboxMessage.status))).scalars())
        blocked = (await session.execute(select(TelegramBlockedChat.chat_id))).scalars().all()
    assert statuses == ["blocked", "sent"]
    assert blocked == [str(EMILY)]


async def test_stop_opts_out_of_campaigns_and_start_opts_back_in(
    bot_client: Any,
    api: BotApiStandIn,
    customers: dict[str, int],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    emily = chat(bot_client, api, "emily")
    await emily.share("13800000003")
    [stopped] = await emily.say("/stop")
    assert "no longer get marketing messages" in stopped

    async def opted_out() -> bool:
        async with sessions() as session:
            return bool(
                (
                    await session.execute(
                        select(Customer.marketing_opt_out).where(Customer.id == customers["emily"])
                    )
                ).scalar_one()
            )

    assert await opted_out()
    await emily.say("/start")
    assert not await opted_out()


async def test_lang_switches_the_language(
    bot_client: Any, api: BotApiStandIn, customers: dict[str, int]
) -> None:
    emily = chat(bot_client, api, "emily")
    await emily.share("13800000003")
    [switched] = await emily.say("/lang")
    assert switched == "已切换为中文。"
    [menu] = await emily.say("hello?")
    assert menu.startswith("请选择")


async def test_without_a_token_the_bot_is_off_and_the_rest_runs(client: Any) -> None:
    assert (await client.post("/telegram/webhook", json={"update_id": 1})).status == 403
    assert (await client.get("/healthz")).status == 200


async def test_my_status_request_is_in_my_audit_trail_as_me(
    bot_client: Any, api: BotApiStandIn, customers: dict[str, int], staff: Staff
) -> None:
    emily = chat(bot_client, api, "emily")
    await emily.share("13800000003")
    [reply] = await emily.say("/status")
    assert reply  # "no complaints" is an answer too: the record was read
    response = await bot_client.get(
        "/api/v1/audit", params={"customer_id": customers["emily"]}, headers=staff.supervisor
    )
    entries = [e for e in (await response.json())["entries"] if e["action"] == "complaint.status"]
    assert [(e["actor"], e["via"]) for e in entries] == [(f"telegram:{EMILY}", "telegram")]


UNREADABLE_UPDATES = (
    b"not json",
    b'{"update_id": 1, "message": "\xff\xfe"}',
    b"[1, 2, 3]",
    b'{"update_id": "one"}',
    b'{"update_id": 36893488147419103232}',
    b'{"update_id": 5, "message": {"text": "no chat, no date"}}',
    b"[" * 50_000 + b"]" * 50_000,
    b'{"update_id": 6, "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}, '
    b'"text": "a\\u0000b"}}',
    b'{"update_id": 7}',
    b'{"update_id": 8, "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}, '
    b'"from": {"id": -5, "is_bot": false, "first_name": "x"}, "text": "/start"}}',
)


async def rejected_rows(sessions: async_sessionmaker[AsyncSession]) -> list[TelegramRejectedUpdate]:
    async with sessions() as session:
        found = await session.execute(select(TelegramRejectedUpdate).order_by(TelegramRejectedUpdate.id))
        return list(found.scalars())


async def test_an_update_that_cannot_be_read_is_acknowledged_kept_and_counted(
    bot_client: Any, api: BotApiStandIn, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for raw in UNREADABLE_UPDATES:
        response = await bot_client.post(
            "/telegram/webhook",
            data=raw,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
        )
        assert response.status == 200, (raw[:40], await response.text())
    rows = await rejected_rows(sessions)
    assert len(rows) == len(UNREADABLE_UPDATES)
    assert rows[0].raw == "not json"
    assert rows[0].error.startswith("not JSON")
    assert rows[1].raw == '{"update_id": 1, "message": "\\xff\\xfe"}'  # undecodable bytes, escaped
    assert "update_id" in rows[3].error
    assert "64 bits" in rows[4].error
    assert "nested too deeply" in rows[6].error
    assert len(rows[6].raw) == 16_384  # kept, cut to a sane size
    assert "NUL" in rows[7].error
    assert "no event" in rows[8].error
    assert "sender" in rows[9].error
    assert api.sent() == []
    metrics = await (await bot_client.get("/metrics")).text()
    assert f"contactdesk_telegram_rejected_updates_total {float(len(UNREADABLE_UPDATES))}" in metrics


async def test_a_wrong_secret_is_refused_before_the_body_is_read_and_nothing_is_kept(
    bot_client: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for secret in ("wrong", "", "sécret", SECRET + "x"):
        response = await bot_client.post(
            "/telegram/webhook", data=b"not json", headers={"X-Telegram-Bot-Api-Secret-Token": secret}
        )
        assert response.status == 401
        assert (await response.json())["error"] == "bad-secret"
    assert await rejected_rows(sessions) == []


async def test_a_complaint_lodged_in_telegram_follows_the_operators_calendar_and_categories(
    settings: Settings,
    api: BotApiStandIn,
    customers: dict[str, int],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    configured = settings.model_copy(
        update={
            "bot_token": "123456:TEST",
            "telegram_api_base": api.base_url,
            "telegram_webhook_secret": SECRET,
            "telegram_chat_interval_seconds": 0.0,
            "holidays": [today + timedelta(days=d) for d in range(15)],
            "complaint_categories": ["roaming", "billing"],
        }
    )
    async with TestClient(TestServer(create_app(configured))) as client:
        emily = chat(client, api, "emily")
        await emily.share("13800000003")
        await emily.say("/complaint")
        assert [b["callback_data"] for b in api.sent()[-1].markup["inline_keyboard"][0]] == [
            "cat:roaming",
            "cat:billing",
        ]
        await emily.press("cat:roaming")
        await emily.say("No service abroad")
        await emily.press("skip")
        [lodged] = await emily.press("confirm:yes")
    async with sessions() as session:
        complaint = (await session.execute(select(Complaint))).scalar_one()
    assert complaint.ticket in lodged
    assert complaint.category == "roaming"
    # One working day to acknowledge: the first one after the fortnight of holidays.
    assert complaint.acknowledge_due_at is not None
    assert complaint.acknowledge_due_at - complaint.created_at > timedelta(days=14)
