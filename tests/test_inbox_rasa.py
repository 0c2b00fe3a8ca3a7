"""The Rasa assistant hands a conversation to a person (`action_handoff_to_agent`), for a
customer the Telegram channel vouches for; other channels are told how to reach one."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.settings import Settings
from handlers.customers import NewCustomer, create_customer
from storage.models import InboxConversation
from tests.conftest import Staff
from tests.routing_fixtures import seed
from tests.test_rasa_actions import Client, rasa_request, rasa_settings, run


@pytest.fixture
def settings(database_url: str, engine: AsyncEngine) -> Settings:
    return rasa_settings(database_url)


async def test_the_assistant_hands_a_telegram_customer_to_an_agent_and_tells_others_how_to_reach_one(
    client: Client, staff: Staff, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(sessions)
    async with sessions() as session:
        lin = await create_customer(
            session,
            None,
            NewCustomer(name="Lin Hao", phones=("13900000009",), telegram_id="8009", language="en"),
        )
    status, result = await run(client, rasa_request("action_handoff_to_agent", "8009", channel="telegram"))
    assert status == 200
    assert (
        result["responses"][0]["text"]
        == "agent1, one of our agents, is with you now. Write your question here."
    )
    async with sessions() as session:
        row = (await session.execute(select(InboxConversation))).scalar_one()
    assert (row.customer_id, row.address, row.state, row.queue) == (lin.id, "8009", "open", "english")

    _, web_chat = await run(client, rasa_request("action_handoff_to_agent", "web-visitor-1", channel="rest"))
    # Nobody vouches for a web visitor, who hears it in the operator's language.
    assert web_chat["responses"][0]["text"].startswith("您可以在我们的 Telegram 客服中")
