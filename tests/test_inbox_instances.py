"""The chat inbox across two instances sharing PostgreSQL, end to end through the Bot API
stand-in: a customer asks for a person on instance 1's webhook, the agent's socket on
instance 2 gets the offer with the card and the customer's message (LISTEN/NOTIFY), the
agent replies through instance 2's API, the stand-in receives it, the agent closes, and
the customer gets the CSAT question."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.settings import Settings
from storage.models import InboxConversation
from tests.conftest import Staff
from tests.inbox_fixtures import bot_app, drain, emily, next_chat
from tests.routing_fixtures import seed
from tests.telegram_standin import bot_api


@pytest.mark.postgres
async def test_a_chat_started_on_one_instance_is_answered_and_closed_from_another(
    postgres_database: str, staff: Staff, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the cross-instance bus is PostgreSQL's")
    callers = await seed(sessions)
    async with (
        bot_api() as api,
        bot_app(settings, api) as first,
        bot_app(settings, api) as second,
        second.ws_connect("/agent/ws", headers=staff.agent) as socket,
    ):
        await asyncio.sleep(0.2)  # LISTEN is in place
        customer = emily(first, api)
        await customer.share("13800000003")
        [told] = await customer.say("/agent")
        assert told == "agent1, one of our agents, is with you now. Write your question here."
        offer = await next_chat(socket, "chat_offered")
        assert offer["customer"]["name"] == "english"
        assert "english" in offer["html"]

        assert await customer.say("Is there an outage in Pudong?") == []
        message = await next_chat(socket, "chat_message")
        assert (message["conversation_id"], message["from"], message["text"]) == (
            offer["conversation_id"],
            "customer",
            "Is there an outage in Pudong?",
        )

        path = f"/api/v1/conversations/{offer['conversation_id']}"
        replied = await second.post(
            f"{path}/messages", json={"text": "Yes, fixed by 18:00."}, headers=staff.agent
        )
        assert replied.status == 201
        assert await drain(first) == {"sent": 1}  # instance 1's sender sends it
        assert api.sent()[-1].text == "Yes, fixed by 18:00."
        assert (await next_chat(socket, "chat_delivery"))["state"] == "sent"  # told across instances

        closed = await second.post(
            f"{path}/close", json={"disposition": "outage explained"}, headers=staff.agent
        )
        assert closed.status == 200
        assert await drain(second) == {"sent": 1}
        question = api.sent()[-1]
        assert question.text.startswith("How satisfied are you with our service?")
        assert int(question.params["chat_id"]) == customer.user_id
    async with sessions() as session:
        row = (
            await session.execute(
                select(InboxConversation).where(InboxConversation.customer_id == callers.english)
            )
        ).scalar_one()
    assert (row.state, row.disposition) == ("resolved", "outage explained")
