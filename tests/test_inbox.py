"""The chat inbox as customers and agents live it: a Telegram customer asks for a person, an
agent gets the offer with the customer's card and the customer's messages on their socket,
replies through the API (out through the outbox, its delivery pushed back), transfers and
closes, and the customer is asked the CSAT question once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp import WSMsgType
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.keys import EVENTS
from callcenter.settings import Settings
from handlers.calendar import WorkCalendar
from handlers.chat import link_by_phone
from handlers.inbox.routing import InboxPolicy, ask_for_agent, run_sweeper
from handlers.routing.rules import load_rules
from storage.events import InProcessBus
from storage.models import ApiToken, Contact, InboxConversation, InboxMessage, OutboxMessage, Survey, User
from storage.models.base import utcnow
from storage.users import audit_trail
from tests.conftest import Staff
from tests.inbox_fixtures import Client, bot_app, drain, emily, next_chat, set_state, wang
from tests.routing_fixtures import Callers, seed
from tests.telegram_standin import BotApiStandIn, bot_api
from tests.test_telegram_bot import Chat


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with bot_api() as standin:
        yield standin


@pytest.fixture
async def callers(sessions: async_sessionmaker[AsyncSession], staff: Staff) -> Callers:
    return await seed(sessions)


@pytest.fixture
async def client(settings: Settings, api: BotApiStandIn, callers: Callers) -> AsyncIterator[Client]:
    async with bot_app(settings, api) as client:
        yield client


async def conversation_of(sessions: async_sessionmaker[AsyncSession], customer_id: int) -> InboxConversation:
    async with sessions() as session:
        return (
            (
                await session.execute(
                    select(InboxConversation)
                    .where(InboxConversation.customer_id == customer_id)
                    .order_by(InboxConversation.id.desc())
                )
            )
            .scalars()
            .first()
        )  # type: ignore[return-value]


async def handed_over(
    client: Client, api: BotApiStandIn, sessions: async_sessionmaker[AsyncSession], callers: Callers
) -> tuple[Chat, InboxConversation]:
    """Emily, linked to her record, asked for a person (agent1 took it, or it waits)."""
    customer = emily(client, api)
    await customer.share("13800000003")
    await customer.say("/agent")
    return customer, await conversation_of(sessions, callers.english)


async def transcript(client: Client, staff: Staff, conversation_id: int) -> dict[str, object]:
    response = await client.get(f"/api/v1/conversations/{conversation_id}", headers=staff.supervisor)
    assert response.status == 200
    return dict(await response.json())


async def test_a_customer_asking_for_a_person_reaches_a_free_agent_who_sees_the_card_and_every_message_once(
    client: Client,
    api: BotApiStandIn,
    staff: Staff,
    callers: Callers,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    customer = emily(client, api)
    await customer.share("13800000003")
    async with client.ws_connect("/agent/ws", headers=staff.agent) as socket:
        [told] = await customer.say("/agent")
        assert told == "agent1, one of our agents, is with you now. Write your question here."
        offer = await next_chat(socket, "chat_offered")
        assert offer["customer"]["name"] == "english"
        assert "english" in offer["html"]
        assert 'class="card screen-pop"' in offer["html"]

        # While a person has it, the bot says nothing; the agent gets each message once.
        assert await customer.say("My internet is down since Monday") == []
        message = await next_chat(socket, "chat_message")
        assert (message["from"], message["text"]) == ("customer", "My internet is down since Monday")
        assert await customer.photo("router-photo") == []
        photo = await next_chat(socket, "chat_message")
        assert photo["photo"] is True
        assert await customer.say("still there?", update_id=990001) == []
        assert await customer.say("still there?", update_id=990001) == []  # Telegram delivered it again
    conversation = await conversation_of(sessions, callers.english)
    messages = (await transcript(client, staff, conversation.id))["messages"]
    assert [(m["direction"], m["text"], m["photo"]) for m in messages] == [  # type: ignore[attr-defined]
        ("in", "My internet is down since Monday", None),
        ("in", "", "router-photo"),
        ("in", "still there?", None),
    ]
    # Asking again says where it stands rather than opening a second conversation.
    assert (await customer.say("/agent"))[0].startswith("agent1, one of our agents")
    async with sessions() as session:
        live = (await session.execute(select(InboxConversation))).scalars().all()
    assert len(live) == 1


async def test_the_agents_reply_reaches_the_customer_with_its_delivery_and_closing_asks_csat_once(
    client: Client,
    api: BotApiStandIn,
    staff: Staff,
    callers: Callers,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    customer, conversation = await handed_over(client, api, sessions, callers)
    path = f"/api/v1/conversations/{conversation.id}"
    async with client.ws_connect("/agent/ws", headers=staff.agent) as socket:
        assert (await next_chat(socket, "chat_offered"))["conversation_id"] == conversation.id  # replayed
        someone_else = await client.post(f"{path}/messages", json={"text": "hi"}, headers=staff.agent2)
        assert someone_else.status == 403
        assert (await someone_else.json())["error"] == "not-your-conversation"
        empty = await client.post(f"{path}/messages", json={"text": "   "}, headers=staff.agent)
        assert empty.status == 400
        response = await client.post(
            f"{path}/messages", json={"text": "Hello Emily, let me check."}, headers=staff.agent
        )
        assert response.status == 201
        reply = await response.json()
        assert (reply["direction"], reply["author"], reply["delivery"]) == ("out", "agent1", "pending")
        echoed = await next_chat(socket, "chat_message")
        assert (echoed["from"], echoed["text"]) == ("agent1", "Hello Emily, let me check.")

        assert await drain(client) == {"sent": 1}
        sent = api.sent()[-1]
        assert (sent.text, int(sent.params["chat_id"])) == ("Hello Emily, let me check.", customer.user_id)
        delivery = await next_chat(socket, "chat_delivery")
        assert (delivery["message_id"], delivery["state"]) == (reply["id"], "sent")

        # A supervisor may write too; a chat that blocked the bot shows as blocked.
        api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        by_supervisor = await client.post(
            f"{path}/messages", json={"text": "Anything else?"}, headers=staff.supervisor
        )
        assert by_supervisor.status == 201
        assert await drain(client) == {"blocked": 1}
        assert (await next_chat(socket, "chat_delivery"))["state"] == "blocked"

        closed = await client.post(f"{path}/close", json={"disposition": "resolved"}, headers=staff.agent)
        assert closed.status == 200
        body = await closed.json()
        assert (body["state"], body["disposition"]) == ("resolved", "resolved")
        assert (await next_chat(socket, "chat_closed"))["reason"] == "closed"
    again = await client.post(f"{path}/close", json={"disposition": "resolved"}, headers=staff.agent)
    assert again.status == 409
    first_reply = (await transcript(client, staff, conversation.id))["first_reply_at"]
    assert first_reply is not None
    assert [m["delivery"] for m in (await transcript(client, staff, conversation.id))["messages"]] == [  # type: ignore[attr-defined]
        "sent",
        "blocked",
    ]

    async with sessions() as session:
        [survey] = (await session.execute(select(Survey))).scalars().all()
        agent1 = (await session.execute(select(User).where(User.login == "agent1"))).scalar_one()
    assert (survey.kind, survey.trigger, survey.agent_id, survey.customer_id) == (
        "csat",
        "chat",
        agent1.id,
        callers.english,
    )
    assert body["survey_id"] == survey.id
    api.calls.clear()
    await customer.say("/start")  # the customer wrote again: the chat is no longer blocked
    api.calls.clear()
    assert await drain(client) == {"sent": 1}
    question = api.sent()[-1]
    assert question.text.startswith("How satisfied are you with our service?")
    assert question.markup["inline_keyboard"][0][0]["callback_data"].startswith(f"csat:{survey.id}:")
    # Back with the bot: free text is the bot's again.
    assert (await customer.say("thanks"))[0].startswith("Choose:")


async def test_nobody_free_puts_the_customer_in_the_queue_with_a_wait_and_the_next_free_agent_gets_it(
    client: Client,
    api: BotApiStandIn,
    staff: Staff,
    callers: Callers,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await set_state(sessions, "agent1", "offline")  # the only VIP agent
    customer = wang(client, api)
    await customer.share("13800000001")
    [told] = await customer.say("/agent")
    assert told.startswith("目前客服都在忙，您已进入排队，预计等待约 3 分钟。")
    buttons = api.sent()[-1].markup["inline_keyboard"]
    assert [row[0]["callback_data"] for row in buttons] == ["handoff:callback", "handoff:complaint"]
    assert await customer.say("在吗？我的宽带断了") == []  # kept for the agent
    conversation = await conversation_of(sessions, callers.vip)
    assert (conversation.state, conversation.queue, conversation.priority) == ("waiting", "vip", 100)
    waiting = await client.get("/api/v1/conversations", params={"state": "waiting"}, headers=staff.agent2)
    assert [c["id"] for c in (await waiting.json())["conversations"]] == [conversation.id]

    async with client.ws_connect("/agent/ws", headers=staff.agent) as socket:
        available = await client.post(
            "/agent/state", data={"state": "available"}, headers={**staff.agent, "Accept": "application/json"}
        )
        assert available.status == 200
        offer = await next_chat(socket, "chat_offered")
        assert (offer["conversation_id"], offer["customer"]["name"]) == (conversation.id, "vip")
    assert await drain(client) == {"sent": 1}
    assert api.sent()[-1].text == "客服agent1已接入对话，请直接在这里留言。"
    messages = (await transcript(client, staff, conversation.id))["messages"]
    assert [m["text"] for m in messages] == ["在吗？我的宽带断了"]  # type: ignore[attr-defined]


async def test_a_waiting_customer_may_ask_for_a_callback_instead(
    client: Client, api: BotApiStandIn, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await set_state(sessions, "agent1", "offline")
    customer = emily(client, api)
    await customer.share("13800000003")
    [told] = await customer.say("/agent")
    assert told.startswith(
        "All our agents are busy right now. You are in the queue; the expected wait is about 3 min."
    )
    assert await customer.press("handoff:callback") == [
        "Thank you. We will call you back at your registered number."
    ]
    conversation = await conversation_of(sessions, callers.english)
    assert (conversation.state, conversation.disposition) == ("resolved", "callback-requested")
    async with sessions() as session:
        callback = (
            await session.execute(select(Contact).where(Contact.customer_id == callers.english))
        ).scalar_one()
    assert (callback.action, callback.queue, callback.channel) == ("callback", "english", "telegram")
    assert (await customer.say("hello?"))[0].startswith("Choose:")  # the bot answers again


async def test_a_waiting_customer_may_leave_a_complaint_instead(
    client: Client, api: BotApiStandIn, callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await set_state(sessions, "agent1", "offline")
    customer = wang(client, api)
    await customer.share("13800000001")
    await customer.say("/agent")
    assert await customer.press("handoff:complaint") == ["请选择投诉类别："]
    conversation = await conversation_of(sessions, callers.vip)
    assert (conversation.state, conversation.disposition) == ("resolved", "complaint-instead")
    await customer.press("cat:network")
    # The description goes to the complaint flow, not to an agent.
    assert await customer.say("家里没有信号") == ["如有照片或截图，请现在发送；没有请点击“跳过”。"]
    async with sessions() as session:
        stored = (await session.execute(select(InboxMessage))).scalars().all()
    assert stored == []


async def test_text_the_bot_cannot_handle_offers_a_person_or_the_menu(
    client: Client, api: BotApiStandIn, staff: Staff
) -> None:
    customer = emily(client, api)
    await customer.share("13800000003")
    [menu] = await customer.say("my modem blinks red")
    assert "/agent talk to a person" in menu
    choices = [row[0]["callback_data"] for row in api.sent()[-1].markup["inline_keyboard"]]
    assert choices == ["handoff:person", "handoff:menu"]
    assert await customer.press("handoff:person") == [
        "agent1, one of our agents, is with you now. Write your question here."
    ]


async def test_an_agent_holds_at_most_max_chats_and_a_closed_chat_frees_a_place_for_the_waiting_one(
    client: Client,
    api: BotApiStandIn,
    staff: Staff,
    callers: Callers,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    patched = await client.patch("/api/v1/users/agent1", json={"max_chats": 1}, headers=staff.admin)
    assert (patched.status, (await patched.json())["max_chats"]) == (200, 1)
    first, second = emily(client, api), wang(client, api)
    await first.share("13800000003")
    await second.share("13800000001")
    assert (await first.say("/agent"))[0].startswith("agent1, one of our agents")
    assert (await second.say("/agent"))[0].startswith("目前客服都在忙")  # only agent1 serves VIPs
    held = await conversation_of(sessions, callers.english)
    async with client.ws_connect("/agent/ws", headers=staff.agent) as socket:
        await next_chat(socket, "chat_offered")  # the chat they hold, replayed
        closed = await client.post(
            f"/api/v1/conversations/{held.id}/close", json={"disposition": "done"}, headers=staff.agent
        )
        assert closed.status == 200
        offer = await next_chat(socket, "chat_offered")
    assert offer["customer"]["name"] == "vip"


async def test_a_transfer_moves_the_chat_to_another_agent_or_back_to_a_queue(
    client: Client,
    api: BotApiStandIn,
    staff: Staff,
    callers: Callers,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _customer, conversation = await handed_over(client, api, sessions, callers)
    path = f"/api/v1/conversations/{conversation.id}"
    neither = await client.post(f"{path}/transfer", json={}, headers=staff.agent)
    assert neither.status == 400
    async with (
        client.ws_connect("/agent/ws", headers=staff.agent) as first,
        client.ws_connect("/agent/ws", headers=staff.agent2) as second,
    ):
        await next_chat(first, "chat_offered")
        moved = await client.post(f"{path}/transfer", json={"agent": "agent2"}, headers=staff.agent)
        assert (moved.status, (await moved.json())["agent"]) == (200, "agent2")
        assert (await next_chat(first, "chat_closed"))["reason"] == "transferred"
        assert (await next_chat(second, "chat_offered"))["conversation_id"] == conversation.id
    not_theirs = await client.post(f"{path}/messages", json={"text": "hi"}, headers=staff.agent)
    assert not_theirs.status == 403
    unknown = await client.post(f"{path}/transfer", json={"queue": "nowhere"}, headers=staff.agent2)
    assert unknown.status == 404
    requeued = await client.post(f"{path}/transfer", json={"queue": "general"}, headers=staff.agent2)
    body = await requeued.json()
    # agent1 holds no chat now and serves the general queue: they take it at once.
    assert (requeued.status, body["queue"], body["state"], body["agent"]) == (
        200,
        "general",
        "open",
        "agent1",
    )


async def test_reading_a_transcript_is_audited_and_agents_read_only_their_own(
    client: Client,
    api: BotApiStandIn,
    staff: Staff,
    callers: Callers,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _customer, conversation = await handed_over(client, api, sessions, callers)
    assert (await client.get(f"/api/v1/conversations/{conversation.id}", headers=staff.agent2)).status == 403
    assert (await client.get(f"/api/v1/conversations/{conversation.id}", headers=staff.agent)).status == 200
    listed = await client.get("/api/v1/conversations", params={"agent": "agent1"}, headers=staff.supervisor)
    assert [c["customer_name"] for c in (await listed.json())["conversations"]] == ["english"]
    assert (
        await client.get("/api/v1/conversations", params={"state": "lost"}, headers=staff.agent)
    ).status == 400
    profile = await client.get(f"/api/v1/customers/{callers.english}", headers=staff.supervisor)
    [held] = (await profile.json())["conversations"]
    assert (held["id"], held["state"], held["agent"]) == (conversation.id, "open", "agent1")
    trail = await client.get(
        "/api/v1/audit", params={"customer_id": callers.english}, headers=staff.supervisor
    )
    actions = {(e["actor"], e["action"]) for e in (await trail.json())["entries"]}
    assert {("agent1", "conversation.read"), ("supervisor", "conversation.list")} <= actions


async def test_on_a_holiday_the_customer_is_told_the_desk_is_closed_and_the_chat_waits_for_the_sweep(
    settings: Settings,
    api: BotApiStandIn,
    staff: Staff,
    callers: Callers,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    async with bot_app(settings.model_copy(update={"holidays": [today]}), api) as closed_today:
        customer = emily(closed_today, api)
        await customer.share("13800000003")
        [told] = await customer.say("/agent")
        assert told.startswith("Our agents are not working right now. Your request stays in the queue")
        assert "about 3 min" in told
    conversation = await conversation_of(sessions, callers.english)
    assert (conversation.state, conversation.agent_id) == ("waiting", None)

    # The next working day the sweep offers it to a free agent, and the customer is told.
    passes: list[float] = []

    async def one_pass(seconds: float) -> None:
        passes.append(seconds)
        raise asyncio.CancelledError

    policy = InboxPolicy(load_rules(), WorkCalendar(timezone=settings.timezone))
    async with bot_app(settings, api) as client:
        with pytest.raises(asyncio.CancelledError):
            await run_sweeper(sessions, client.server.app[EVENTS], policy, 7.0, sleep=one_pass)
        assert passes == [7.0]
        assert await drain(client) == {"sent": 1}
    assert api.sent()[-1].text.startswith("agent1, one of our agents, has joined the conversation")
    taken = await conversation_of(sessions, callers.english)
    assert taken.state == "open"


async def test_the_expected_wait_comes_from_the_queues_recent_history(
    callers: Callers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await set_state(sessions, "agent1", "offline")
    now = utcnow()
    async with sessions() as session:
        session.add(
            InboxConversation(
                customer_id=callers.regular,
                address="9001",
                state="resolved",
                queue="english",
                created_at=now - timedelta(minutes=30),
                assigned_at=now - timedelta(minutes=21, seconds=30),  # waited 8.5 minutes
                closed_at=now - timedelta(minutes=5),
            )
        )
        await session.commit()
        await link_by_phone(session, "telegram", "7001", "13800000003")
        policy = InboxPolicy(load_rules(), WorkCalendar())
        handoff = await ask_for_agent(
            session,
            InProcessBus(),
            policy,
            customer_id=callers.english,
            channel="telegram",
            address="7001",
            now=now,
        )
    assert (handoff.outcome, handoff.queue, handoff.wait_minutes) == ("waiting", "english", 9)


async def test_a_reply_a_dead_sender_held_is_shown_uncertain_and_never_sent_twice(
    client: Client,
    api: BotApiStandIn,
    staff: Staff,
    callers: Callers,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _customer, conversation = await handed_over(client, api, sessions, callers)
    path = f"/api/v1/conversations/{conversation.id}"
    async with client.ws_connect("/agent/ws", headers=staff.agent) as socket:
        await next_chat(socket, "chat_offered")
        reply = await (
            await client.post(f"{path}/messages", json={"text": "One moment."}, headers=staff.agent)
        ).json()
        # A sender took it, then died before it could say whether Telegram had it.
        async with sessions() as session:
            await session.execute(
                update(OutboxMessage).values(status="sending", claimed_at=utcnow() - timedelta(minutes=6))
            )
            await session.commit()
        sent_before = len(api.sent())
        assert await drain(client) == {}
        assert len(api.sent()) == sent_before
        delivery = await next_chat(socket, "chat_delivery")
        assert (delivery["message_id"], delivery["state"]) == (reply["id"], "uncertain")
    assert await drain(client) == {}  # and not later either
    assert len(api.sent()) == sent_before
    [message] = (await transcript(client, staff, conversation.id))["messages"]  # type: ignore[misc]
    assert message["delivery"] == "uncertain"


async def test_a_chat_offered_once_the_agents_token_is_revoked_reads_nothing_and_closes_the_socket(
    client: Client,
    api: BotApiStandIn,
    staff: Staff,
    callers: Callers,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    customer = emily(client, api)
    await customer.share("13800000003")
    async with client.ws_connect("/agent/ws", headers=staff.agent) as socket:
        while (await socket.receive_json(timeout=5))["type"] != "agent_state":
            pass  # the socket is open once it sent the availability
        agent1 = select(User.id).where(User.login == "agent1").scalar_subquery()
        async with sessions() as session:
            await session.execute(delete(ApiToken).where(ApiToken.user_id == agent1))
            await session.commit()
        await customer.say("/agent")  # agent1 is still active and free: the chat is offered to them
        while (closed := await socket.receive(timeout=5)).type == WSMsgType.TEXT:
            assert json.loads(closed.data)["type"] != "chat_offered"
    assert (closed.type, closed.data, closed.extra) == (WSMsgType.CLOSE, 1008, "signed out")
    conversation = await conversation_of(sessions, callers.english)
    assert conversation.agent_id is not None
    async with sessions() as session:
        assert await audit_trail(session, "conversation", conversation.id) == []
